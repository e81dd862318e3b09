"""Article HTML becomes plain text with its steps and paragraphs kept."""

from __future__ import annotations

from adapters.helpdesk.knowledge import article_text


def test_numbered_steps_and_bullets_become_lines_of_their_own() -> None:
    html = ("<p>Before you start:</p><ul><li>an admin account</li><li>the CSV file</li></ul>"
            "<ol start='3'><li><p>Open <b>Members</b>.</p></li><li>Click Import"
            "<ul><li>choose the file</li></ul></li></ol><p>Done.</p>")

    assert article_text(html) == ("Before you start:\n\n- an admin account\n- the CSV file\n\n"
                                  "3. Open Members.\n4. Click Import\n  - choose the file\n\n"
                                  "Done.")


def test_scripts_styles_and_head_are_dropped_and_entities_read() -> None:
    html = ("<html><head><title>x</title><style>p {color: red}</style></head><body>"
            "<script>var a = '<p>not text</p>';</script><h2>Fees &amp; taxes</h2>"
            "<p>Line one<br>line two&nbsp;here</p><noscript>enable JS</noscript></body></html>")

    assert article_text(html) == "Fees & taxes\n\nLine one\nline two\xa0here"


def test_plain_text_and_empty_bodies_pass_through() -> None:
    assert article_text("Just   words\non two lines") == "Just words on two lines"
    assert article_text(None) == ""
    assert article_text("") == ""


def test_preformatted_text_keeps_its_lines() -> None:
    assert article_text("<p>Run:</p><pre>escalade kb sync\n  --tenant acme</pre>") == (
        "Run:\n\nescalade kb sync\n--tenant acme")

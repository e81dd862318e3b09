"""Error signatures beyond HTTP codes and exception names: the same failure, the same key."""

from __future__ import annotations

import pytest

from integration.detect.impact import error_keys


@pytest.mark.parametrize(
    ("texts", "key"),
    [
        (["connect ECONNREFUSED 10.0.0.5:5432", "Error: ECONNREFUSED while exporting"],
         "errno:econnrefused"),
        (["Sync fails with error 0x80070005", "code 0X80070005 access denied"],
         "code:0x80070005"),
        (["AADSTS50011: The reply URL does not match", "sso gives aadsts50011"],
         "code:aadsts50011"),
    ],
)
def test_two_customers_same_key(texts: list[str], key: str) -> None:
    assert all(key in error_keys([text]) for text in texts)


def test_innermost_frames_tell_two_exceptions_apart() -> None:
    java_a = ("java.lang.NullPointerException\n"
              "    at com.acme.billing.InvoiceService.total(InvoiceService.java:42)\n"
              "    at com.acme.Main.run(Main.java:7)")
    java_b = ("java.lang.NullPointerException\n"
              "    at com.acme.export.CsvWriter.write(CsvWriter.java:12)")
    keys_a, keys_b = error_keys([java_a]), error_keys([java_b])
    assert "exc:nullpointerexception" in keys_a and "exc:nullpointerexception" in keys_b
    assert "frame:com.acme.billing.invoiceservice.total" in keys_a
    assert "frame:com.acme.export.csvwriter.write" in keys_b
    python = ('Traceback (most recent call last):\n  File "/srv/app/views.py", line 3, in post\n'
              '  File "C:\\\\app\\\\export.py", line 88, in build_csv\nKeyError: \'user_id\'')
    assert error_keys([python]) == ("exc:keyerror", "frame:export.py:build_csv")


@pytest.mark.parametrize("text", ["We have 500 users", "invoice INV-1001 and PO 4500012345",
                                  "at the moment (today) nothing works", "ENTERPRISE plan"])
def test_ordinary_text_has_no_keys(text: str) -> None:
    assert error_keys([text]) == ()

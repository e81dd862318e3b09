"""The at-risk threshold as a workspace option on the command line: checked, one line on error."""

from __future__ import annotations

from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.runtime import Runtime
from tests.test_cli import cli_env  # noqa: F401  (fixture)
from tests.test_cli_setup import runner, runtime  # noqa: F401  (fixtures)


def test_the_threshold_option_is_checked_and_saved(runner: CliRunner,  # noqa: F811
                                                    runtime: Runtime) -> None:  # noqa: F811
    assert runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "sandbox"]).exit_code == 0
    for raw, said in (('{"threshold": 2}', "--option account_risk.threshold: a number above 0"),
                      ('{"threshhold": 0.4}', "--option account_risk.threshhold: unknown"),
                      ("0.4", "account_risk")):
        bad = runner.invoke(main, ["tenant", "configure", "acme", "--option",
                                   f"account_risk={raw}"])
        assert bad.exit_code == 2 and said in bad.output
        assert len(bad.output.strip().splitlines()) == 1
    good = runner.invoke(main, ["tenant", "configure", "acme", "--option",
                                'account_risk={"threshold": 0.4}'])
    assert good.exit_code == 0, good.output
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        assert tenant is not None and tenant.settings["account_risk"] == {"threshold": 0.4}

"""A bad config fails at start with one line naming the key and the problem."""

from pathlib import Path

import pytest

from intake import config
from intake.errors import ConfigError
from intake.limits import Limits

BOX = '[mailboxes.careers]\nhost = "imap.example.com"\nusername = "u"\npassword_env = "PW"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_example_config_is_valid():
    cfg = config.load(Path(__file__).parent.parent / "config.example.toml")
    assert [b.name for b in cfg.mailboxes] == ["careers", "interns"]
    careers = cfg.mailbox("careers")
    assert careers.tls == "implicit" and careers.verify_certificates
    assert careers.after_store == "leave"
    assert cfg.smtp is not None and cfg.smtp.effective_port == 587
    assert cfg.templates_dir == (Path(__file__).parent.parent / "templates").resolve()
    assert careers.reply_address == "careers@example.com"
    assert (cfg.replies.max_per_sender, cfg.replies.follow_up_days) == (3, 60)
    assert cfg.limits == Limits()  # the example states the defaults


def test_limits_are_checked_where_they_are_written(tmp_path):
    with pytest.raises(ConfigError, match=r"limits\.message_seconds: Input should be greater"):
        config.load(write(tmp_path, BOX + "[limits]\nmessage_seconds = 0\n"))
    with pytest.raises(ConfigError, match=r"limits\.sizes"):
        config.load(write(tmp_path, BOX + "[limits]\nsizes = 1\n"))


def test_example_config_templates_cover_the_shipped_rules():
    from intake.decisions.rules import load_all
    from intake.replies.messages import check_templates

    cfg = config.load(Path(__file__).parent.parent / "config.example.toml")
    check_templates(cfg.templates_dir, load_all(cfg.rules_dir))


def test_reply_address_defaults_to_an_address_username_and_is_validated(tmp_path):
    assert config.load(write(tmp_path, BOX)).mailbox("careers").reply_address is None
    with pytest.raises(ConfigError, match=r"mailboxes\.careers\.address: String should match"):
        config.load(write(tmp_path, BOX + 'address = "not an address"\n'))


def test_defaults(tmp_path):
    cfg = config.load(write(tmp_path, BOX))
    box = cfg.mailbox("careers")
    assert (box.folder, box.effective_port, box.batch_size, box.after_store) == (
        "INBOX",
        993,
        50,
        "leave",
    )
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'data' / 'intake.db').resolve()}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BOX + 'tls = "ssl"\n', "mailboxes.careers.tls: Input should be 'implicit'"),
        (BOX + "batchsize = 3\n", "mailboxes.careers.batchsize: unknown key"),
        (BOX + "batch_size = 0\n", "mailboxes.careers.batch_size: Input should be greater"),
        (BOX + 'port = "imap"\n', "mailboxes.careers.port: Input should be a valid integer"),
        (BOX + 'after_store = "move"\n', "mailboxes.careers: set move_to exactly when"),
        (BOX + 'after_store = "delete"\n', "mailboxes.careers.after_store: Input should be"),
        (BOX + 'password_env = "OTHER"\n', "invalid TOML: Cannot overwrite a value"),
        (
            '[mailboxes.careers]\nhost = "h"\npassword_env = "PW"\n',
            "mailboxes.careers.username: required key is missing",
        ),
        (
            '[mailboxes.careers]\nhost = "h"\nusername = "u"\npassword_env = "my pw"\n',
            "mailboxes.careers.password_env: String should match pattern",
        ),
        ("[mailboxes]\ncareers = 3\n", "mailboxes.careers: must be a table [mailboxes.careers]"),
        ("mailboxes = 3\n", "mailboxes: must be tables like [mailboxes.careers]"),
        (BOX + "[smtp]\nhost = 'h'\n", "smtp.from_address: required key is missing"),
        ("[database]\nurl = 5\n", "database.url: Input should be a valid string"),
        ("[mailboxes.careers\n", "invalid TOML"),
        ("verbose = true\n", "verbose: unknown key"),
    ],
)
def test_bad_config_names_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


def test_password_comes_from_environment(tmp_path, monkeypatch):
    box = config.load(write(tmp_path, BOX)).mailbox("careers")
    monkeypatch.delenv("PW", raising=False)
    with pytest.raises(ConfigError, match="environment variable PW is not set"):
        box.password()
    monkeypatch.setenv("PW", "s3cret")
    assert box.password() == "s3cret"


def test_database_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql+psycopg://intake@db/intake")
    assert config.load(write(tmp_path, BOX)).database_url == "postgresql+psycopg://intake@db/intake"


def test_unknown_mailbox(tmp_path):
    with pytest.raises(ConfigError, match="no mailbox named 'interns' \\(known: careers\\)"):
        config.load(write(tmp_path, BOX)).mailbox("interns")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[digest]\ntimezone = "Mars/Olympus"\n', "digest: unknown time zone 'Mars/Olympus'"),
        ('[digest]\nschedule = "61 * * * *"\n', "digest: schedule '61 * * * *': Error validating"),
        ("idle_seconds = 5000\n", "mailboxes.careers.idle_seconds: Input should be less"),
    ],
)
def test_daemon_and_digest_mistakes_are_one_line(tmp_path, table, message):
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, BOX + table))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_empty_digest_schedule_means_never(tmp_path):
    cfg = config.load(write(tmp_path, BOX + '[digest]\nschedule = ""\n'))
    assert cfg.digest.schedule == "" and cfg.mailbox("careers").poll_seconds == 300

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from app.config import Settings


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"PORTCULLIS_INSTANCE": str(tmp_path / "inst")})
    instance = tmp_path / "inst"
    assert settings.database_url == f"sqlite:///{instance / 'portcullis.db'}"
    assert settings.redis_url == "fakeredis://"
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.otp_lifetime == 300 and settings.smtp_starttls is False
    # generated keys persist across starts and are private
    again = Settings.from_env({"PORTCULLIS_INSTANCE": str(instance)})
    assert again.secret_key == settings.secret_key and len(settings.secret_key) >= 40
    assert again.encryption_key == settings.encryption_key != settings.secret_key
    assert stat.S_IMODE((instance / "secret-key").stat().st_mode) == 0o600
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700


def test_every_field_reads_its_variable(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PORTCULLIS_INSTANCE": str(tmp_path),
            "DATABASE_URL": "postgresql://db/x",
            "REDIS_URL": "redis://r:6379/1",
            "SECRET_KEY": "s",
            "ENCRYPTION_KEY": "k1:e",
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "OTP_LIFETIME": "120",
            "SMTP_STARTTLS": "true",
            "TWILIO_FROM_NUMBER": "+15005550006",
            "TOTP_ISSUER": "ACME",
        }
    )
    assert settings.database_url == "postgresql://db/x"
    assert settings.base_url == "http://0.0.0.0:9000" and settings.port == 9000
    assert settings.otp_lifetime == 120 and settings.smtp_starttls is True
    assert settings.twilio_from_number == "+15005550006" and settings.issuer == "ACME"
    explicit = Settings.from_env(
        {
            "PORTCULLIS_INSTANCE": str(tmp_path),
            "SECRET_KEY": "s",
            "ENCRYPTION_KEY": "e",
            "BASE_URL": "https://id.example/",
        }
    )
    assert explicit.base_url == "https://id.example"


@pytest.mark.parametrize(("name", "value"), [("PORT", "eighty"), ("SMTP_STARTTLS", "maybe")])
def test_bad_values_are_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({"PORTCULLIS_INSTANCE": str(tmp_path), name: value})


def test_configured_keys_are_not_generated(tmp_path: Path) -> None:
    Settings.from_env(
        {"PORTCULLIS_INSTANCE": str(tmp_path / "i"), "SECRET_KEY": "s", "ENCRYPTION_KEY": "k1:e"}
    )
    assert not (tmp_path / "i" / "secret-key").exists()
    assert not (tmp_path / "i" / "encryption-key").exists()


def test_the_instance_folder_exists_for_the_default_database_even_with_keys_set(
    tmp_path: Path,
) -> None:
    import stat

    from sqlalchemy import create_engine, text

    folder = tmp_path / "fresh" / "instance"
    settings = Settings.from_env(
        {"PORTCULLIS_INSTANCE": str(folder), "SECRET_KEY": "s", "ENCRYPTION_KEY": "e"}
    )
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    with create_engine(settings.database_url).connect() as conn:  # the file can be created
        assert conn.execute(text("select 1")).scalar() == 1
    assert not (folder / "secret-key").exists()


def test_input_limits_and_hsts_are_settings(tmp_path: Path) -> None:
    defaults = Settings.from_env({"PORTCULLIS_INSTANCE": str(tmp_path)})
    assert defaults.request_body_max_bytes == 1024 * 1024
    assert defaults.relay_state_max_length == 2048 and defaults.password_max_length == 256
    assert defaults.hsts_max_age == 31536000
    settings = Settings.from_env(
        {
            "PORTCULLIS_INSTANCE": str(tmp_path),
            "REQUEST_BODY_MAX_BYTES": "4096",
            "RELAY_STATE_MAX_LENGTH": "100",
            "PASSWORD_MAX_LENGTH": "72",
            "HSTS_MAX_AGE": "0",
        }
    )
    assert (settings.request_body_max_bytes, settings.relay_state_max_length) == (4096, 100)
    assert (settings.password_max_length, settings.hsts_max_age) == (72, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [("REQUEST_BODY_MAX_BYTES", "0"), ("PASSWORD_MAX_LENGTH", "-1"), ("HSTS_MAX_AGE", "-5")],
)
def test_limits_out_of_range_stop_the_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({"PORTCULLIS_INSTANCE": str(tmp_path), name: value})

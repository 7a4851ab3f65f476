from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.domain.clock import okta_timestamp, parse_timestamp
from app.domain.ids import USER, new_id


def test_ids_have_okta_shape_and_do_not_repeat() -> None:
    ids = {new_id(USER) for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 20 and i.startswith("00u") and i.isalnum() for i in ids)


def test_okta_timestamps() -> None:
    moment = datetime(2013, 6, 24, 16, 39, 18, 123456, tzinfo=UTC)
    assert okta_timestamp(moment) == "2013-06-24T16:39:18.123Z"
    other = moment.astimezone(timezone(timedelta(hours=2)))
    assert okta_timestamp(other) == "2013-06-24T16:39:18.123Z"
    assert okta_timestamp(None) is None
    assert parse_timestamp("2013-06-24T16:39:18.123Z") == moment.replace(microsecond=123000)

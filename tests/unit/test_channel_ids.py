from agi_app.domain.channel_ids import ChannelRef, Leg, channel_id, parse_channel_id

ID = "0bcc1c76-9765-4ef8-8a0b-ca5388d1ea23"


def test_round_trip_for_every_leg() -> None:
    for leg in Leg:
        uniqueid = channel_id(ID, 3, leg)
        assert parse_channel_id(uniqueid) == ChannelRef(ID, 3, leg)
        assert len(uniqueid) < 150  # Asterisk's uniqueid limit


def test_other_channels_are_not_ours() -> None:
    for uniqueid in ("1795653868.54", "", f"cb-{ID}-1-x", f"cb-{ID}-q", f"xcb-{ID}-1-q"):
        assert parse_channel_id(uniqueid) is None

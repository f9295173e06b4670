"""Calling rules (docs/how-to/calling-rules.md): numbers never called back (the settings'
list; the command line and the API add to the store's), and the customers' own hours per
queue for the requests that carry no customer_hours option (API, missed calls)."""

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agi_app.config.missed_calls import QUEUE_NAME
from agi_app.domain.calling_rules import do_not_call_entry, parse_window
from agi_app.domain.errors import InvalidNumber
from agi_app.domain.hours import ScheduleError


class CallingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    do_not_call: list[str] = Field(
        default_factory=list,
        description="numbers never called back, in E.164 (`+441632960001`), or prefixes ending"
        " in `*` (`+44163296*`): a request for one is refused (`do-not-call`) and a waiting"
        " callback to one ends Cancelled without a dial; the command line (`agi-callback"
        " do-not-call`) and the API add more, kept in the store",
    )
    customer_hours: dict[Annotated[str, Field(pattern=QUEUE_NAME)], str] = Field(
        default_factory=dict,
        description="per queue, the customers' own hours in their local time (`08:00-21:00`,"
        " several joined by `/`) for requests without the customer_hours option: API requests,"
        " missed calls, and phone requests of flows that do not give it",
    )
    timezone: str = Field(
        "UTC",
        description="the centre's own zone (IANA), taken for the customer's hours of a number"
        " whose zone is unknown (a number of no known place)",
    )

    @field_validator("do_not_call")
    @classmethod
    def _entries(cls, value: list[str]) -> list[str]:
        try:
            return sorted({do_not_call_entry(entry) for entry in value})
        except InvalidNumber as exc:
            raise ValueError(exc.message) from None

    @field_validator("customer_hours")
    @classmethod
    def _windows(cls, value: dict[str, str]) -> dict[str, str]:
        for queue, window in value.items():
            try:
                parse_window(window)
            except ScheduleError as exc:
                raise ValueError(f"{queue}: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window_of(self, queue: str, option: str | None) -> str:
        """A request's customer hours: the flow's option, else its queue's ("" none)."""
        return option if option is not None else self.customer_hours.get(queue, "")

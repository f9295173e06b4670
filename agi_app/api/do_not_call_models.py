"""What /api/do-not-call reads and answers (agi_app/api/do_not_call.py), as pydantic models:
the OpenAPI document's schemas (openapi.py) are theirs."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class DoNotCallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry: Annotated[str, Field(max_length=40)] = Field(
        description="a number (E.164, or national in number_region) or a prefix: + and"
        " digits, then *",
        examples=["+441632960001", "+44163296*"],
    )


class DoNotCallEntryOut(BaseModel):
    entry: str = Field(description="as kept: E.164, or a prefix ending in *")
    added_at: datetime
    added_by: str = Field(description="the credential: api:NAME, or cli:USER")
    added: bool | None = Field(
        None, description="in the answer to POST: false when it was listed already"
    )


class DoNotCallList(BaseModel):
    settings: list[str] = Field(description="the settings' entries (calling_rules.do_not_call)")
    added: list[DoNotCallEntryOut] = Field(description="those the command line and API added")


class DoNotCallRemoved(BaseModel):
    entry: str
    removed: bool

"""What POST /api/forget takes and gives (agi_app/api/forget.py), as pydantic models: they
validate the body and are its schemas in the OpenAPI document."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

FORGET_PATH = "/api/forget"


class ForgetIn(BaseModel):
    """Whose personal data to erase."""

    model_config = ConfigDict(extra="forbid")

    number: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            description="the person's phone number, as they called from or asked to be"
            " called on (E.164, or national in number_region)",
        ),
    ]


class ForgetOut(BaseModel):
    """What the erasure did."""

    model_config = ConfigDict(extra="forbid")

    requests: Annotated[int, Field(description="callbacks whose personal data was erased")]
    cancelled: Annotated[int, Field(description="of them, waiting ones cancelled first")]

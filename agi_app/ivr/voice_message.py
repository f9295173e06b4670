"""The caller's voice message (the message option). The request is stored first, named after
its file ("<request id>.wav"); then the dialplan's [callback] plays message_prompt and runs
Record() with what the service set in CALLBACK_RECORD (file, 3 s of silence, the longest
message, k: kept when the caller hangs up), before the success prompt. So a caller who hangs
up while speaking loses nothing, a refused request records nothing, and `agi-callback check`
sees the Record() line (app_record must be loaded)."""

from agi_app.domain.options import ComponentOptions
from agi_app.ivr.fastagi import AgiChannel

FORMAT = "wav"  # Record()'s format: what the browser plays as it is
SILENCE_S = 3  # seconds of silence that end the message


def message_name(request_id: str) -> str:
    return f"{request_id}.{FORMAT}"


async def ask_for_message(
    agi: AgiChannel, options: ComponentOptions, directory: str, name: str
) -> None:
    """Tell the dialplan to record the message into ``directory``/``name`` (Record()'s
    arguments: Asterisk splits the variable's commas into them)."""
    await agi.set_variable("CALLBACK_RECORD_PROMPT", options.message_prompt)
    await agi.set_variable(
        "CALLBACK_RECORD", f"{directory}/{name},{SILENCE_S},{options.message_max},k"
    )

"""The component's options as the dialplan gives them, validated by the service's own models
(agi_app.domain.options and the status and offer checks'), each problem at its line."""

import difflib
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from agi_app.admin.check.findings import Finding, Location, error
from agi_app.admin.check.flows import QUEUE_KEY, OptionSite
from agi_app.admin.check.traced import Traced
from agi_app.domain.errors import InvalidOptions
from agi_app.domain.offer import OfferOptions
from agi_app.domain.options import ComponentOptions, split_arguments
from agi_app.ivr.status_check import StatusOptions

MODELS: dict[str, type[BaseModel]] = {
    "callback": ComponentOptions,
    QUEUE_KEY: ComponentOptions,
    "callback-status": StatusOptions,
    "callback-offer-check": OfferOptions,
}
WHAT = {
    "callback": "callback option",
    QUEUE_KEY: "callback option",
    "callback-status": "status check option",
    "callback-offer-check": "offer check option",
}
PROMPT_OPTIONS = (
    "success",
    "error",
    "timeout_prompt",
    "offer",
    "waiting_prompt",
    "position_prompt",
    "choice_prompt",
    "kept_prompt",
    "cancelled_prompt",
)
MAX_ARGUMENTS = 16  # [callback] passes ARG1..ARG16 to the AGI


@dataclass(frozen=True)
class Given:
    value: str
    where: Location


@dataclass(frozen=True)
class Checked:
    site: OptionSite
    given: dict[str, Given]  # the options written without variables
    model: BaseModel | None  # all of them, validated (defaults filled in)

    def queue(self) -> Given | None:
        return self.given.get("queue")

    def prompts(self) -> list[tuple[str, str, Location]]:
        """(option, prompt, where) the service may play for this site, defaults included."""
        found: list[tuple[str, str, Location]] = []
        for name in PROMPT_OPTIONS:
            given = self.given.get(name)
            value = getattr(self.model, name, None) if self.model is not None else None
            if isinstance(value, str):
                found.append((name, value, given.where if given else self.site.where))
            elif given is not None:
                found.append((name, given.value, given.where))
        return found


def check_options(site: OptionSite) -> tuple[Checked, list[Finding]]:
    model_type, what = MODELS[site.kind], WHAT[site.kind]
    problems: list[Finding] = []
    args = site.args
    if len(args) > MAX_ARGUMENTS and any(a.text.strip() for a in args[MAX_ARGUMENTS:]):
        dropped = ", ".join(a.text.strip() for a in args[MAX_ARGUMENTS:] if a.text.strip())
        problems.append(
            error(
                args[MAX_ARGUMENTS].origin(default=site.where),
                f"more than {MAX_ARGUMENTS} options: [callback] passes only ARG1..ARG16 to the"
                f" service, which never gets {dropped}",
            )
        )
        args = args[:MAX_ARGUMENTS]
    # [callback]'s options are accepted and ignored beside a status or offer check's.
    ignored = frozenset(ComponentOptions.model_fields) - frozenset(model_type.model_fields)
    given: dict[str, Given] = {}
    written: dict[str, Traced] = {}
    opaque = False  # an argument that is a whole variable: any options may hide in it
    dynamic: set[str] = set()
    for arg in (a.strip() for a in args):
        if not arg.text:
            continue
        name = arg.text.partition("=")[0].strip()
        if "$" in name:
            opaque = True
            continue
        try:  # the service's own splitting: malformed and repeated options
            split_arguments([written[name].text, arg.text] if name in written else [arg.text])
        except InvalidOptions as exc:
            also = (
                f" (also {written[name].text} at {written[name].origin()})"
                if name in written
                else ""
            )
            problems.append(
                error(arg.origin(), f"{what} {exc.message.removeprefix('option ')}{also}")
            )
            continue
        written[name] = arg
        value = arg[len(arg.text.partition("=")[0]) + 1 :].strip()
        if value.is_dynamic():
            dynamic.add(name)
        else:
            given[name] = Given(value.text, value.origin(default=arg.origin()))
    pairs = {n: g.value for n, g in given.items() if n not in ignored}
    model: BaseModel | None = None
    try:
        model = model_type.model_validate(pairs)
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            unseen = err["type"] == "missing" or not field  # may be what a variable holds
            if field in dynamic or (unseen and (opaque or dynamic)):
                continue
            problems.append(_problem(site, what, field, err["type"], err["msg"], written, given))
    if model is not None and (dynamic or opaque):
        model = None  # valid as far as can be seen; the rest only a call knows
    return Checked(site, given, model), problems


def _problem(
    site: OptionSite,
    what: str,
    field: str,
    kind: str,
    message: str,
    written: dict[str, Traced],
    given: dict[str, Given],
) -> Finding:
    names = list(MODELS[site.kind].model_fields)
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(names)})"
        return error(written[field].origin(), f"unknown {what} '{field}'{hint}")
    if kind == "missing":
        return error(site.where, f"no {field}= option: the service refuses {what}s without it")
    if field:
        return error(given[field].where, f"{what} {field}={given[field].value}: {message}")
    # A rule across options: at the first option it names that is written here.
    message = message.removeprefix("Value error, ")
    named = [written[n].origin() for n in written if n in message]
    return error(named[0] if named else site.where, f"{what}s: {message}")

"""What Slack refuses in Block Kit, for the fake Slack: each limit cites the Block Kit
reference (https://api.slack.com/reference/block-kit/), and a violation answers like
Slack (``invalid_blocks`` for messages, ``invalid_arguments`` for views, with the
``[json-pointer:...]`` messages), so a test that sends an invalid surface fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Surfaces: "up to 50 blocks in each message, and 100 blocks in modals or Home tabs"
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
# chat.postMessage `text`: messages over 40,000 characters are refused (msg_too_long)
MESSAGE_TEXT_MAX = 40_000
# Modal view object: title/submit/close 24, private_metadata 3000, callback_id 255
VIEW_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255  # block_id, action_id, callback_id, external_id

# one limit per (block or element type, field): maximum length of the text
_TEXT_LIMITS: dict[tuple[str, str], int] = {
    ("section", "text"): 3000,      # section: text max 3000
    ("section", "field"): 2000,     # section: each field max 2000
    ("header", "text"): 150,        # header: plain_text max 150
    ("context", "text"): 3000,      # text object max 3000
    ("input", "label"): 2000,       # input: label max 2000
    ("input", "hint"): 2000,        # input: hint max 2000
    ("image", "alt_text"): 2000,    # image: alt_text max 2000
    ("button", "text"): 75,         # button: text max 75
    ("button", "value"): 2000,      # button: value max 2000
    ("button", "url"): 3000,        # button: url max 3000
    ("option", "text"): 75,         # option object: text max 75
    ("option", "value"): 150,       # option object: value max 150
    ("option", "description"): 75,  # option object: description max 75
    ("placeholder", "text"): 150,   # placeholder max 150
}
_OPTIONS_MAX = {"static_select": 100, "multi_static_select": 100, "overflow": 5,
                "radio_buttons": 10, "checkboxes": 10}
_SECTION_FIELDS_MAX = 10            # section: fields max 10
_CONTEXT_ELEMENTS_MAX = 10          # context: elements max 10
_ACTIONS_ELEMENTS_MAX = 25          # actions: elements max 25
_INPUT_MAX_LENGTH = 3000            # plain_text_input: max_length max 3000


class Invalid(ValueError):
    """Slack's error messages (``must be less than N characters [json-pointer:...]``)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def check_message(params: dict[str, Any]) -> None:
    """chat.postMessage / chat.update / chat.postEphemeral arguments."""
    if len(str(params.get("text") or "")) > MESSAGE_TEXT_MAX:
        raise Invalid(["msg_too_long"])
    blocks = params.get("blocks")
    if blocks:
        _raise(_blocks(blocks, MESSAGE_BLOCKS_MAX, "/blocks"))


def check_view(view: dict[str, Any]) -> None:
    """views.open / push / update / publish: a modal or a Home tab."""
    errors = _blocks(view.get("blocks") or [], VIEW_BLOCKS_MAX, "/view/blocks")
    for key in ("title", "submit", "close"):
        if isinstance(view.get(key), dict):
            errors += _length(view[key].get("text"), VIEW_TITLE_MAX, f"/view/{key}/text")
    errors += _length(view.get("private_metadata"), PRIVATE_METADATA_MAX,
                      "/view/private_metadata")
    for key in ("callback_id", "external_id"):
        errors += _length(view.get(key), ID_MAX, f"/view/{key}")
    _raise(errors)


def _raise(errors: list[str]) -> None:
    if errors:
        raise Invalid(errors)


def _length(value: Any, limit: int, pointer: str) -> list[str]:
    if value is not None and len(str(value)) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _text(obj: Any, key: tuple[str, str], pointer: str) -> list[str]:
    """A text object: present, not empty, within its limit."""
    if not isinstance(obj, dict) or not str(obj.get("text") or ""):
        return [f"must provide a non-empty string [json-pointer:{pointer}/text]"]
    return _length(obj["text"], _TEXT_LIMITS[key], f"{pointer}/text")


def _blocks(blocks: Any, limit: int, pointer: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    errors = [] if len(blocks) <= limit else [
        f"must provide at most {limit} items [json-pointer:{pointer}]"]
    for i, block in enumerate(blocks):
        checker = _BLOCKS.get(block.get("type")) if isinstance(block, dict) else None
        where = f"{pointer}/{i}"
        if checker is None:
            errors.append(f"unsupported type [json-pointer:{where}/type]")
            continue
        errors += _length(block.get("block_id"), ID_MAX, f"{where}/block_id")
        errors += checker(block, where)
    return errors


def _section(block: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    if "text" in block:
        errors += _text(block["text"], ("section", "text"), f"{where}/text")
    fields = block.get("fields") or []
    if len(fields) > _SECTION_FIELDS_MAX:
        errors.append(f"must provide at most {_SECTION_FIELDS_MAX} items "
                      f"[json-pointer:{where}/fields]")
    for j, item in enumerate(fields):
        errors += _text(item, ("section", "field"), f"{where}/fields/{j}")
    if "text" not in block and not fields:
        errors.append(f"must provide text or fields [json-pointer:{where}]")
    if "accessory" in block:
        errors += _element(block["accessory"], f"{where}/accessory")
    return errors


def _header(block: dict[str, Any], where: str) -> list[str]:
    return _text(block.get("text"), ("header", "text"), f"{where}/text")


def _context(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    errors = [] if 1 <= len(elements) <= _CONTEXT_ELEMENTS_MAX else [
        f"must provide 1 to {_CONTEXT_ELEMENTS_MAX} items [json-pointer:{where}/elements]"]
    for j, item in enumerate(elements):
        if item.get("type") in ("mrkdwn", "plain_text"):
            errors += _text(item, ("context", "text"), f"{where}/elements/{j}")
    return errors


def _actions(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    errors = [] if 1 <= len(elements) <= _ACTIONS_ELEMENTS_MAX else [
        f"must provide 1 to {_ACTIONS_ELEMENTS_MAX} items [json-pointer:{where}/elements]"]
    for j, item in enumerate(elements):
        errors += _element(item, f"{where}/elements/{j}")
    return errors


def _input(block: dict[str, Any], where: str) -> list[str]:
    errors = _text(block.get("label"), ("input", "label"), f"{where}/label")
    if "hint" in block:
        errors += _text(block["hint"], ("input", "hint"), f"{where}/hint")
    return errors + _element(block.get("element") or {}, f"{where}/element")


def _image(block: dict[str, Any], where: str) -> list[str]:
    return _length(block.get("alt_text"), _TEXT_LIMITS[("image", "alt_text")],
                   f"{where}/alt_text")


def _nothing(block: dict[str, Any], where: str) -> list[str]:
    return []


def _element(element: dict[str, Any], where: str) -> list[str]:
    kind = element.get("type", "")
    errors = _length(element.get("action_id"), ID_MAX, f"{where}/action_id")
    if kind == "button":
        errors += _text(element.get("text"), ("button", "text"), f"{where}/text")
        errors += _length(element.get("value"), _TEXT_LIMITS[("button", "value")],
                          f"{where}/value")
        errors += _length(element.get("url"), _TEXT_LIMITS[("button", "url")], f"{where}/url")
    if "placeholder" in element:
        errors += _text(element["placeholder"], ("placeholder", "text"), f"{where}/placeholder")
    if kind in _OPTIONS_MAX:
        options = element.get("options") or []
        for g, group in enumerate(element.get("option_groups") or []):
            options = options + (group.get("options") or [])
            errors += _length((group.get("label") or {}).get("text"), 75,
                              f"{where}/option_groups/{g}/label/text")
        if len(options) > _OPTIONS_MAX[kind]:
            errors.append(f"must provide at most {_OPTIONS_MAX[kind]} items "
                          f"[json-pointer:{where}/options]")
        for j, option in enumerate(options):
            errors += _option(option, f"{where}/options/{j}")
    if kind == "plain_text_input":
        max_length = element.get("max_length")
        if max_length is not None and int(max_length) > _INPUT_MAX_LENGTH:
            errors.append(f"must be less than {_INPUT_MAX_LENGTH + 1} "
                          f"[json-pointer:{where}/max_length]")
        limit = int(max_length or _INPUT_MAX_LENGTH)
        errors += _length(element.get("initial_value"), limit, f"{where}/initial_value")
    return errors


def _option(option: dict[str, Any], where: str) -> list[str]:
    errors = _text(option.get("text"), ("option", "text"), f"{where}/text")
    errors += _length(option.get("value"), _TEXT_LIMITS[("option", "value")], f"{where}/value")
    if "description" in option:
        errors += _text(option["description"], ("option", "description"),
                        f"{where}/description")
    return errors


_BLOCKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "section": _section, "header": _header, "context": _context, "actions": _actions,
    "input": _input, "image": _image, "divider": _nothing, "rich_text": _nothing,
    "file": _nothing, "video": _nothing,
}

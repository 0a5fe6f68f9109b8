"""The chat ``messages`` format hackkit trains on, as OpenAI and Mistral write it: one JSON object a line.

    {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."},
                  {"role": "assistant", "content": "..."}]}

Roles are ``system`` (first only), ``user``, ``assistant`` and ``tool``. An assistant turn may call
tools (``tool_calls``: ``{"id", "type": "function", "function": {"name", "arguments"}}``); each
call's result follows as a ``tool`` turn with its ``tool_call_id``. An assistant turn with
``"weight": 0`` stays in the conversation but is not learned. A line may carry ``tools`` (the
function schemas the model was offered). Content is a string, or a list of text parts.

``problems`` says what is wrong with one parsed line (no model needed); ``normalise`` gives the
line in the one shape the training templates read: text content, tool-call arguments as JSON text.
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("system", "user", "assistant", "tool")
# Which turns may come next, after each kind of turn ("assistant+" is an assistant turn that calls tools).
NEXT = {
    "start": ("system", "user"),
    "system": ("user",),
    "user": ("assistant",),
    "assistant": ("user",),
    "assistant+": ("tool",),
    "tool": ("tool", "assistant"),
}
MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "weight")


def problems(example: Any) -> list[str]:
    """Every problem of one example; empty when it can be trained on."""
    if not isinstance(example, dict):
        return [f"not a JSON object but {_kind(example)}"]
    messages = example.get("messages")
    if messages is None:
        shape = " (prompt/completion or instruction/output: convert it with `hackkit finetune data`)" * bool(
            {"prompt", "instruction", "conversations"} & set(example)
        )
        return [f'no "messages" list{shape}']
    if not isinstance(messages, list) or not messages:
        return ['"messages" is not a non-empty list']
    found = [problem for n, message in enumerate(messages, 1) for problem in _message_problems(n, message)]
    if "tools" in example and not isinstance(example["tools"], list):
        found.append('"tools" is not a list of function schemas')
    if not found:
        found += _order_problems(messages)
    return found or _learning_problems(messages)


def _message_problems(n: int, message: Any) -> list[str]:
    if not isinstance(message, dict):
        return [f"message {n} is not an object"]
    role = message.get("role")
    if role is None:
        return [f"message {n} has no role"]
    if role not in ROLES:
        return [f"message {n} has the unknown role {role!r} (use system, user, assistant or tool)"]
    found = _content_problems(n, message)
    if role == "assistant":
        found += [f"message {n}'s tool call {i}: {p}" for i, p in _tool_call_problems(message.get("tool_calls"))]
        if "weight" in message and message["weight"] not in (0, 1):
            found.append(f"message {n} has weight {message['weight']!r} (0 or 1)")
    elif role == "tool" and not isinstance(message.get("tool_call_id"), str):
        found.append(f"message {n} (tool) has no tool_call_id naming the call it answers")
    return found


def _content_problems(n: int, message: dict[str, Any]) -> list[str]:
    role, content = message["role"], message.get("content")
    if isinstance(content, list):
        kinds = {part.get("type") if isinstance(part, dict) else _kind(part) for part in content}
        if kinds - {"text"}:
            return [f"message {n} has a part of type {sorted(map(str, kinds - {'text'}))[0]!r}; hackkit trains on text"]
    elif content is not None and not isinstance(content, str):
        return [f"message {n} ({role}) has content that is {_kind(content)}, not text"]
    if not text_of(content).strip() and not (role == "assistant" and message.get("tool_calls")):
        return [f"message {n} ({role}) has empty content"]
    return []


def _tool_call_problems(calls: Any) -> list[tuple[int, str]]:
    if calls is None:
        return []
    if not isinstance(calls, list):
        return [(1, "tool_calls is not a list")]
    found = []
    for i, call in enumerate(calls, 1):
        function = call.get("function", call) if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            found.append((i, "has no function name"))
        elif not isinstance(call.get("id"), str):
            found.append((i, 'has no "id" (its tool result names it in tool_call_id)'))
        elif not _is_json_object(function.get("arguments", {})):
            found.append((i, "has arguments that are not a JSON object"))
    return found


def _order_problems(messages: list[dict[str, Any]]) -> list[str]:
    state, pending = "start", set()
    for n, message in enumerate(messages, 1):
        role = message["role"]
        if role not in NEXT[state]:
            return [f"message {n} ({role}) cannot follow {_describe(state)}; expected {' or '.join(NEXT[state])}"]
        if role == "tool":
            if message["tool_call_id"] not in pending:
                return [f"message {n} (tool) answers {message['tool_call_id']!r}, which no pending tool call has"]
            pending.discard(message["tool_call_id"])
        elif role == "assistant" and pending:
            return [f"message {n} (assistant) comes before the results of tool calls {sorted(pending)}"]
        state = "assistant+" if role == "assistant" and message.get("tool_calls") else role
        if state == "assistant+":
            pending = {call["id"] for call in message["tool_calls"]}
    return []


def _learning_problems(messages: list[dict[str, Any]]) -> list[str]:
    assistant = [m for m in messages if m["role"] == "assistant"]
    if not assistant:
        return ["no assistant turn: nothing to learn"]
    if messages[-1]["role"] != "assistant":
        return [f"ends with a {messages[-1]['role']} turn; end each conversation on the assistant's answer"]
    if all(m.get("weight", 1) == 0 for m in assistant):
        return ["every assistant turn has weight 0: nothing to learn"]
    return []


def _describe(state: str) -> str:
    return {"start": "the start", "assistant+": "an assistant tool call"}.get(state, f"a {state} turn")


def _kind(value: Any) -> str:
    names = {list: "a list", str: "a string", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _is_json_object(arguments: Any) -> bool:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return False
    return isinstance(arguments, dict)


def text_of(content: Any) -> str:
    """A message's text: a string as it is, text parts joined."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def normalise(example: dict[str, Any]) -> dict[str, Any]:
    """A valid example in the shape the training templates read: every message has the same keys."""
    messages = [
        {
            "role": m["role"],
            "content": text_of(m.get("content")),
            "tool_calls": [_call(c) for c in m["tool_calls"]] if m.get("tool_calls") else None,
            "tool_call_id": m.get("tool_call_id"),
            "weight": m.get("weight"),
        }
        for m in example["messages"]
    ]
    normal: dict[str, Any] = {"messages": messages}
    if example.get("tools"):
        normal["tools"] = json.dumps(example["tools"], ensure_ascii=False)  # TRL reads tools as JSON text too
    return normal


def _call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function", call)
    arguments = function.get("arguments", {})
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"id": call["id"], "type": "function", "function": {"name": function["name"], "arguments": text}}


def for_template(example: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A normalised example as ``apply_chat_template`` takes it: messages without empty keys, tools parsed."""
    messages = [{k: v for k, v in m.items() if v is not None} for m in example["messages"]]
    tools = example.get("tools")
    return messages, json.loads(tools) if isinstance(tools, str) else tools

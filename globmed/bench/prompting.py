"""The exact text a model is scored on. Every prompt is built by :mod:`globmed.prompts`.

Contract with training (``globmed train`` builds training text as
``tokenizer.apply_chat_template(build_messages(row, with_answer=True), tokenize=False)``):
for a chat model the letter-scoring prompt is

    apply_chat_template(build_messages(row, shots), add_generation_prompt=True, tokenize=False)
    + answer_prefix(lang) + answer_separator(lang)

i.e. the training text of the row cut just before the correct letter. For a base model
(no chat template) it is ``render_plain(row, shots) + answer_separator(lang)``.

The standard cloze prompt (:func:`cloze_request`) shows no option list; its context ends with the
answer phrase and each continuation is ``answer_separator(lang) + option text`` (lm-eval's
``target_delimiter``), so the context is the same for every option of an item.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from globmed.prompts import (
    Row,
    answer_prefix,
    answer_separator,
    build_cloze_messages,
    build_messages,
    option_texts,
    render_cloze_plain,
    render_plain,
)


def is_chat_tokenizer(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def chat_text(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The chat-templated text of ``messages`` ending with the assistant turn's opening."""
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def letter_prompt(row: Row, tokenizer: Any | None, shots: Sequence[Row] = (), *, chat: bool | None = None) -> str:
    """The prompt whose next token is the answer letter (see the module docstring for the contract).

    ``tokenizer`` with a chat template (or ``chat=True``) gives the chat form; otherwise the plain
    form for base models. The text ends with the answer phrase and its separator (``"Answer: "``,
    ``"答案："``), exactly the training text before the letter.
    """
    lang = row["lang"]
    use_chat = is_chat_tokenizer(tokenizer) if chat is None else chat
    if use_chat:
        head = chat_text(tokenizer, build_messages(row, shots))
        return head + answer_prefix(lang) + answer_separator(lang)
    return render_plain(row, shots) + answer_separator(lang)


def cloze_context(row: Row, tokenizer: Any | None, shots: Sequence[Row] = (), *, chat: bool | None = None) -> str:
    """The standard cloze context: question (and context) without options, ending with the answer
    phrase (``"...Answer:"``, ``"...答案："``); chat-templated for chat models."""
    use_chat = is_chat_tokenizer(tokenizer) if chat is None else chat
    if use_chat:
        return chat_text(tokenizer, build_cloze_messages(row, shots)) + answer_prefix(row["lang"])
    return render_cloze_plain(row, shots)


def cloze_request(row: Row, tokenizer: Any | None, shots: Sequence[Row] = (), *,
                  chat: bool | None = None) -> tuple[str, list[str]]:
    """(context, continuations): the standard cloze log-likelihood requests of ``row``, one
    continuation per option, ``answer_separator + option text``."""
    sep = answer_separator(row["lang"])
    return (cloze_context(row, tokenizer, shots, chat=chat),
            [sep + t.strip() for t in option_texts(row)])


def listed_request(row: Row, tokenizer: Any | None, shots: Sequence[Row] = (), *,
                   chat: bool | None = None) -> tuple[str, list[str]]:
    """(context, continuations) of the listed-options cloze variant: the lettered prompt (options
    shown, ending with ``"Answer:"``), each option text as its continuation after the separator."""
    prompt = letter_prompt(row, tokenizer, shots, chat=chat)
    sep = answer_separator(row["lang"])
    head = prompt[: len(prompt) - len(sep)] if sep else prompt
    return head, [sep + t.strip() for t in option_texts(row)]


def generation_messages(row: Row, shots: Sequence[Row] = (), *, cot: bool = False) -> list[dict[str, str]]:
    """The conversation of a generative run (chat models answer in their own words); ``cot``
    appends the language's chain-of-thought request to the question."""
    return build_messages(row, shots, cot=cot)


def generation_prompt(row: Row, tokenizer: Any | None, shots: Sequence[Row] = (), *, chat: bool | None = None,
                      cot: bool = False) -> str:
    """Text prompt of a generative run for a local model: chat-templated, or plain ending with
    the answer phrase for base models (with ``cot``: ending with the chain-of-thought request)."""
    use_chat = is_chat_tokenizer(tokenizer) if chat is None else chat
    if use_chat:
        return chat_text(tokenizer, build_messages(row, shots, cot=cot))
    return render_plain(row, shots, cot=cot)

"""One formatter for what a model is asked and what it should answer.

GlobMed-Bench builds its prompts here and the training formatter builds its chat
conversations here, so a fine-tuned model is evaluated on exactly the text it was
trained on. The wording per language lives in ``prompts.yaml``.

Every closed task (mcq, yes_no_maybe, nli) is shown with lettered options; for the
label tasks the options are the label words in the entry's language. The reply opens
with the language's answer phrase ("Answer:", "Jibu:", "答案：") followed by the letter:

    user:       <instruction>\n\n<Context>: ...\n<Question>: ...\nA. ...\nB. ...
    assistant:  <Answer>: B. <option text>\n\n<Explanation>: ...

Cloze prompts (GlobMed-Bench's standard ``cloze`` mode, the formulation of lm-evaluation-harness,
lighteval and OLMES) show NO option list: the question (with its context, and for the label tasks
the instruction naming the label words) is followed by the answer phrase, and each option text is
scored as the continuation (``"Answer:"`` + ``" " + option``; ``"答案："`` + ``option``):

    user:       <Context>: ...\n<Question>: ...
    assistant:  <Answer>: <option text>

Chain-of-thought prompts (``cot=True``, GlobMed-Bench's ``generative_cot`` mode) append the
language's ``cot`` request to the last question ("Think step by step, then give your final
answer on the last line as 'Answer: <letter>'."); shots keep their plain answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import yaml

from globmed.errors import UnknownNameError
from globmed.schema import LETTERS, TASK_LABELS

FULL_WIDTH_COLON = {"zh", "ja"}
"""Languages whose prompts use the full-width colon (答案：)."""

Row = Mapping[str, Any]


@cache
def prompt_tables() -> dict[str, dict[str, Any]]:
    text = resources.files("globmed").joinpath("prompts.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def table(lang: str) -> dict[str, Any]:
    tables = prompt_tables()
    if lang not in tables:
        raise UnknownNameError("prompt language", lang, tables)
    return tables[lang]


def colon(lang: str) -> str:
    return "：" if lang in FULL_WIDTH_COLON else ": "


def field_label(lang: str, name: str) -> str:
    """``"Question: "`` / ``"问题："``."""
    return f"{table(lang)['labels'][name]}{colon(lang)}"


def answer_prefix(lang: str) -> str:
    """The answer phrase that opens the reply, without trailing space: ``"Answer:"``, ``"答案："``."""
    return field_label(lang, "answer").rstrip()


def answer_separator(lang: str) -> str:
    """What comes between the answer phrase and the letter: a space, none after a full-width colon."""
    return "" if lang in FULL_WIDTH_COLON else " "


def cot_instruction(lang: str, task: str) -> str:
    """The chain-of-thought request of ``lang``: the ``open`` wording for open QA, else ``letter``."""
    return table(lang)["cot"]["open" if task == "open_qa" else "letter"]


def option_texts(row: Row, lang: str | None = None) -> list[str]:
    """What the options read as: mcq option texts, or label words in the entry's language."""
    lang = lang or row["lang"]
    if row["task"] in TASK_LABELS:
        words = table(lang)["words"]
        return [words[label] for label in row["options"]]
    return list(row["options"])


def correct_letters(row: Row) -> list[str]:
    """The correct option letter(s) of a closed-task row."""
    if row["task"] == "mcq":
        return list(row["answer"])
    if row["task"] in TASK_LABELS:
        return [LETTERS[list(row["options"]).index(label)] for label in row["answer"]]
    raise ValueError(f"task {row['task']!r} has no lettered options")


def item_fields(row: Row, lang: str) -> list[str]:
    """The labelled fields of an item: premise and hypothesis (NLI), else context (if any) and question."""
    if row["task"] == "nli":
        return [field_label(lang, "premise") + row["context"].strip(),
                field_label(lang, "hypothesis") + row["question"].strip()]
    context = [field_label(lang, "context") + row["context"].strip()] if row.get("context", "").strip() else []
    return [*context, field_label(lang, "question") + row["question"].strip()]


def render_question(row: Row, lang: str | None = None) -> str:
    """The user turn: instruction, context, question and lettered options."""
    lang = lang or row["lang"]
    tab = table(lang)
    task = row["task"]
    parts = [tab["instructions"][task], ""]
    parts += item_fields(row, lang)
    if task != "open_qa":
        for i, text in enumerate(option_texts(row, lang)):
            parts.append(f"{LETTERS[i]}. {text.strip()}")
    return "\n".join(parts)


def render_answer(row: Row, lang: str | None = None, explanation: bool = True) -> str:
    """The reply a model should give (the training target of the assistant turn)."""
    lang = lang or row["lang"]
    if row["task"] == "open_qa":
        reply = f"{answer_prefix(lang)}{answer_separator(lang)}{row['answer'][0].strip()}"
    else:
        letters = correct_letters(row)
        texts = option_texts(row, lang)
        chosen = "; ".join(texts[LETTERS.index(x)].strip() for x in letters)
        reply = f"{answer_prefix(lang)}{answer_separator(lang)}{', '.join(letters)}. {chosen}"
    if explanation and row.get("explanation", "").strip():
        reply += "\n\n" + field_label(lang, "explanation") + row["explanation"].strip()
    return reply


def build_messages(
    row: Row,
    shots: Sequence[Row] = (),
    *,
    system: bool = True,
    with_answer: bool = False,
    explanation: bool = True,
    cot: bool = False,
) -> list[dict[str, str]]:
    """Chat messages for ``row`` after k ``shots`` (same language). ``with_answer`` appends
    the assistant turn (training); without it the list ends on the user turn (bench). ``cot``
    appends the chain-of-thought request to the last user turn."""
    lang = row["lang"]
    messages: list[dict[str, str]] = []
    if system:
        messages.append({"role": "system", "content": table(lang)["system"]})
    for shot in shots:
        messages.append({"role": "user", "content": render_question(shot, lang)})
        messages.append({"role": "assistant", "content": render_answer(shot, lang, explanation=False)})
    question = render_question(row, lang)
    if cot:
        question += "\n\n" + cot_instruction(lang, row["task"])
    messages.append({"role": "user", "content": question})
    if with_answer:
        messages.append({"role": "assistant", "content": render_answer(row, lang, explanation=explanation)})
    return messages


def render_plain(row: Row, shots: Sequence[Row] = (), *, cot: bool = False) -> str:
    """A prompt for base (non-chat) models: shots and question as plain text, ending with the
    answer phrase, so the next token is the letter. With ``cot`` it ends with the
    chain-of-thought request instead (the model reasons first, then writes the answer phrase)."""
    lang = row["lang"]
    blocks = [f"{render_question(s, lang)}\n{render_answer(s, lang, explanation=False)}" for s in shots]
    if cot:
        blocks.append(f"{render_question(row, lang)}\n\n{cot_instruction(lang, row['task'])}\n")
    else:
        blocks.append(f"{render_question(row, lang)}\n{answer_prefix(lang)}")
    return "\n\n".join(blocks)


CLOZE_INSTRUCTION_TASKS = frozenset({"yes_no_maybe", "nli"})
"""Tasks whose cloze question keeps the task instruction: it names the label words the options are
(an mcq instruction asks for a letter, which a cloze prompt never shows)."""


def render_cloze_question(row: Row, lang: str | None = None) -> str:
    """The cloze question: context and question without the option list (label tasks keep their
    instruction, which names the label words)."""
    lang = lang or row["lang"]
    parts = []
    if row["task"] in CLOZE_INSTRUCTION_TASKS:
        parts += [table(lang)["instructions"][row["task"]], ""]
    parts += item_fields(row, lang)
    return "\n".join(parts)


def render_cloze_answer(row: Row, lang: str | None = None) -> str:
    """A cloze shot's reply: the answer phrase and the (first) correct option's text."""
    lang = lang or row["lang"]
    text = option_texts(row, lang)[LETTERS.index(correct_letters(row)[0])].strip()
    return f"{answer_prefix(lang)}{answer_separator(lang)}{text}"


def build_cloze_messages(row: Row, shots: Sequence[Row] = (), *, system: bool = True) -> list[dict[str, str]]:
    """Chat messages of a cloze prompt after k ``shots``, ending on the user turn."""
    lang = row["lang"]
    messages: list[dict[str, str]] = [{"role": "system", "content": table(lang)["system"]}] if system else []
    for shot in shots:
        messages.append({"role": "user", "content": render_cloze_question(shot, lang)})
        messages.append({"role": "assistant", "content": render_cloze_answer(shot, lang)})
    messages.append({"role": "user", "content": render_cloze_question(row, lang)})
    return messages


def render_cloze_plain(row: Row, shots: Sequence[Row] = ()) -> str:
    """A cloze prompt for base models, ending with the answer phrase (no separator: the
    continuation brings it, as lm-eval's ``target_delimiter``)."""
    lang = row["lang"]
    blocks = [f"{render_cloze_question(s, lang)}\n{render_cloze_answer(s, lang)}" for s in shots]
    blocks.append(f"{render_cloze_question(row, lang)}\n{answer_prefix(lang)}")
    return "\n\n".join(blocks)

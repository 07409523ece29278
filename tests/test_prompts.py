from __future__ import annotations

from globmed.languages import language_codes
from globmed.prompts import (
    answer_prefix,
    build_messages,
    correct_letters,
    cot_instruction,
    prompt_tables,
    render_answer,
    render_plain,
    render_question,
)
from globmed.schema import TASK_LABELS, TASKS


def test_every_registry_language_has_every_prompt_string():
    tables = prompt_tables()
    assert set(tables) == set(language_codes())
    ref = tables["en"]
    for lang, tab in tables.items():
        assert set(tab["instructions"]) == set(TASKS), lang
        assert set(tab["labels"]) == set(ref["labels"]), lang
        assert set(tab["words"]) == {w for labels in TASK_LABELS.values() for w in labels}, lang
        for value in [*tab["labels"].values(), *tab["words"].values(), *tab["instructions"].values(), tab["system"]]:
            assert isinstance(value, str) and value.strip(), (lang, value)
        words = list(tab["words"].values())
        assert len(set(words)) == len(words), f"{lang}: label words must be distinct"


def test_every_language_has_cot_wording_naming_its_own_answer_phrase():
    """generative_cot asks for the final answer after the answer phrase; the extraction cascade
    only finds the language's own phrase (labels.answer + its colon), so the wording must name it."""
    for lang, tab in prompt_tables().items():
        assert set(tab.get("cot") or {}) == {"letter", "open"}, f"{lang}: cot needs `letter` and `open`"
        for kind, text in tab["cot"].items():
            assert isinstance(text, str) and text.strip(), (lang, kind)
            assert answer_prefix(lang) in text, f"{lang} cot.{kind} must contain {answer_prefix(lang)!r}: {text}"
            assert text != tab["instructions"]["open_qa"], (lang, kind)
        assert tab["cot"]["letter"] != tab["cot"]["open"], lang


ROW = {"lang": "sw", "task": "yes_no_maybe", "question": "Je, dawa inasaidia?", "context": "Utafiti ulionyesha.",
       "options": ["yes", "no", "maybe"], "answer": ["no"], "explanation": "Haikusaidia."}


def test_label_tasks_are_lettered_in_the_entry_language():
    q = render_question(ROW)
    assert q.splitlines()[-3:] == ["A. ndiyo", "B. hapana", "C. labda"]
    assert "Muktadha: Utafiti ulionyesha." in q and "Swali: Je, dawa inasaidia?" in q
    assert correct_letters(ROW) == ["B"]
    assert render_answer(ROW) == "Jibu: B. hapana\n\nMaelezo: Haikusaidia."
    assert render_answer(ROW, explanation=False) == "Jibu: B. hapana"


def test_messages_and_plain_prompt_share_the_same_text():
    shot = {**ROW, "answer": ["yes"], "question": "Shot?"}
    msgs = build_messages(ROW, [shot], with_answer=True)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant"]
    assert msgs[2]["content"] == "Jibu: A. ndiyo"
    assert msgs[3]["content"] == render_question(ROW)
    plain = render_plain(ROW, [shot])
    assert plain.endswith(render_question(ROW) + "\n" + answer_prefix("sw"))
    assert render_answer(ROW).startswith(answer_prefix("sw"))


def test_cjk_answer_phrase_uses_full_width_colon():
    row = {"lang": "zh", "task": "mcq", "question": "哪个器官分泌胰岛素？", "context": "",
           "options": ["肝", "胰腺"], "answer": ["B"], "explanation": ""}
    assert answer_prefix("zh") == "答案："
    assert render_answer(row) == "答案：B. 胰腺"
    multi = {**row, "options": ["肝", "胰腺", "脾"], "answer": ["A", "C"]}
    assert render_answer(multi) == "答案：A, C. 肝; 脾"


def test_cot_request_follows_the_last_question_only():
    shot = {**ROW, "answer": ["yes"], "question": "Shot?"}
    msgs = build_messages(ROW, [shot], cot=True)
    cot = cot_instruction("sw", "yes_no_maybe")
    assert cot.startswith("Fikiri hatua kwa hatua") and "'Jibu: <herufi>'" in cot
    assert msgs[-1]["content"] == render_question(ROW) + "\n\n" + cot
    assert msgs[1]["content"] == render_question(shot) and msgs[2]["content"] == "Jibu: A. ndiyo"
    assert build_messages(ROW)[-1]["content"] == render_question(ROW)  # the default is unchanged
    plain = render_plain(ROW, [shot], cot=True)
    assert plain.endswith(render_question(ROW) + "\n\n" + cot + "\n") and plain.count("Jibu:") == 2
    open_row = {"lang": "en", "task": "open_qa", "question": "What lowers a fever?", "context": "",
                "options": [], "answer": ["Paracetamol."], "explanation": ""}
    assert build_messages(open_row, cot=True)[-1]["content"].endswith(cot_instruction("en", "open_qa"))
    assert "after 'Answer:'" in cot_instruction("en", "open_qa")

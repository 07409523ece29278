"""The answer-extraction regex cascade, in every registry language, including replies it must refuse."""

from __future__ import annotations

import pytest

from globmed.bench.extract import extract_answer, final_answer_text
from globmed.languages import language_codes
from globmed.prompts import answer_prefix, answer_separator, cot_instruction, table

MCQ = ["alpha", "beta", "gamma", "delta"]


@pytest.mark.parametrize("lang", language_codes())
def test_cascade_reads_each_language(lang):
    phrase = answer_prefix(lang) + answer_separator(lang)
    words = table(lang)["words"]
    ynm = [words["yes"], words["no"], words["maybe"]]
    assert extract_answer(f"{phrase}B", lang, MCQ).letters == ["B"]
    assert extract_answer(f"{phrase}C. {words['maybe']}", lang, ynm).letters == ["C"]
    assert extract_answer(f"...\n{phrase}A\n\n{phrase}D", lang, MCQ).letters == ["D"]  # last one counts
    assert extract_answer(f"{phrase}A, C", lang, MCQ).letters == ["A", "C"]
    assert extract_answer(words["no"], lang, ynm).letters == ["B"]
    assert extract_answer(f"{words['no']}.", lang, ynm).rule == "option_text"
    assert extract_answer(f"{phrase}{words['maybe']}", lang, ynm).letters == ["C"]  # the word after the phrase
    # refusals: a letter past the options, two letters with "or", prose, an empty reply
    assert extract_answer(f"{phrase}E", lang, MCQ).letters is None
    assert extract_answer(f"{phrase}D", lang, ynm).letters is None
    assert extract_answer("A or B", lang, MCQ).letters is None
    assert extract_answer("", lang, MCQ).letters is None
    assert extract_answer(f"{words['yes']} {words['no']}", lang, ynm).letters is None


def test_bare_letters_and_their_own_option_text():
    assert extract_answer("B", "en", MCQ).letters == ["B"]
    assert extract_answer("(B)", "en", MCQ).letters == ["B"]
    assert extract_answer("B. beta", "en", MCQ).rule == "bare_letter"
    assert extract_answer("**C**", "en", MCQ).letters == ["C"]
    # the letter contradicts the text after it: refused, not scored as B
    assert extract_answer("B. gamma", "en", MCQ).letters is None
    # an English sentence that starts with "A" is not the letter A
    assert extract_answer("A patient with fever needs fluids.", "en", MCQ).letters is None
    assert extract_answer("I don't know.", "en", MCQ).letters is None
    # a lowercase "a" after the answer phrase is an article, not a letter
    assert extract_answer("Answer: a drug that lowers blood pressure", "en", MCQ).letters is None


def test_full_width_forms_and_other_languages_phrases():
    assert extract_answer("答案：Ｂ", "zh", ["肝", "胰腺"]).letters == ["B"]
    assert extract_answer("答案: B", "zh", ["肝", "胰腺"]).letters == ["B"]
    assert extract_answer("Jibu: B", "sw", MCQ).letters == ["B"]
    # another language's answer phrase is not this language's: "Jibu: B" in English is unparsed
    assert extract_answer("Jibu: B", "en", MCQ).letters is None
    assert extract_answer("Impendulo: D", "zu", MCQ).letters == ["D"]
    assert extract_answer("Ìdáhùn: A", "yo", MCQ).letters == ["A"]


@pytest.mark.parametrize("lang", language_codes())
def test_cot_cascade_reads_only_a_final_answer(lang):
    phrase = answer_prefix(lang) + answer_separator(lang)
    label = table(lang)["labels"]["answer"]
    words = table(lang)["words"]
    ynm = [words["yes"], words["no"], words["maybe"]]
    # reasoning that opens with a letter, names options and the answer phrase without its colon
    reasoning = f"A. {MCQ[0]}?\n{words['yes']} - {label} A ... {label} C, 42 mg.\n"

    def cot(reply, options=MCQ):
        return extract_answer(reply, lang, options, cot=True)

    # the answer after the reasoning, as the CoT request asks for it, and variants of that line
    assert cot(f"{reasoning}{phrase}B").letters == ["B"]
    assert cot(f"{reasoning}{phrase}B. {MCQ[1]}\n\n{table(lang)['labels']['explanation']}: ...").letters == ["B"]
    assert cot(f"{reasoning}**{phrase}D**").letters == ["D"]
    assert cot(f"{reasoning}{phrase}{words['maybe']}", ynm).letters == ["C"]
    assert cot(f"{reasoning}C").letters == ["C"]  # a bare letter as the last line
    # the instruction echoed back is no answer
    assert cot(cot_instruction(lang, "mcq")).letters is None
    # no final answer: unparsed, although the reasoning opens with a letter or a label word and
    # names the answer phrase without its colon
    assert cot(reasoning).letters is None
    assert extract_answer(reasoning, lang, MCQ).letters == ["C"]  # the plain cascade reads "<phrase> C"
    assert cot(f"A\n{reasoning}").letters is None
    assert cot(f"{words['yes']}\n{reasoning}", ynm).letters is None
    assert cot(f"{reasoning}{phrase}E").letters is None
    assert cot(f"{reasoning}{phrase}").letters is None
    assert cot("").letters is None


def test_final_answer_text_of_open_questions():
    assert final_answer_text("Fever is common.\nAnswer: Paracetamol, 500 mg.", "en") == "Paracetamol, 500 mg."
    assert final_answer_text("Answer: x\n**Answer:** rest\nmore", "en") == "rest\nmore"
    assert final_answer_text("答案：多喝水", "zh") == "多喝水"
    assert final_answer_text("the answer is rest", "en") is None
    assert final_answer_text("Jibu:  ", "sw") is None


def test_echoed_options_and_sentences_after_the_answer_phrase_are_unparsed():
    # the option list repeated back, in any mode
    assert extract_answer("A. alpha\nB. beta", "en", MCQ).rule == "unparsed"
    assert extract_answer("A. alpha\nB. beta\nC. gamma\nD. delta", "en", MCQ, cot=True).letters is None
    assert extract_answer("(A) alpha\n(C) gamma", "en", MCQ).letters is None
    # one option line is still an answer
    assert extract_answer("A. alpha", "en", MCQ).letters == ["A"]
    # a sentence that opens with the article "A" after the answer phrase
    assert extract_answer("Answer: A patient with fever should rest.", "en", MCQ).letters is None
    assert extract_answer("Answer: A\nA patient with fever should rest.", "en", MCQ).letters == ["A"]
    assert extract_answer("Answer: A. Alpha is right", "en", MCQ).letters == ["A"]
    assert extract_answer("Answer: A and C", "en", MCQ).letters == ["A", "C"]
    assert extract_answer("Answer: B (beta)", "en", MCQ).letters == ["B"]
    # scripts without case: text after the letter is not a run-on sentence
    assert extract_answer("答案：B 因为胰腺", "zh", ["肝", "胰腺"]).letters == ["B"]
    # a letter that is no English word may run on: "Answer: B is right" is B
    assert extract_answer("Answer: B is right", "en", MCQ).letters == ["B"]
    assert extract_answer("Resposta: A paciente tem febre", "pt", MCQ).letters is None

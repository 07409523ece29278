"""LiveQA: the TREC 2017 LiveQA medical task (consumer health questions, reference answers).

Format checked against the upstream repository abachaa/LiveQA_MedicalTask_TREC2017
(``Readme.md``, ``TrainingDatasets/TREC-2017-LiveQA-Medical-Train-{1,2}.xml``,
``TestDataset/TREC-2017-LiveQA-Medical-Test.xml`` and
``TestDataset/TREC-2017-LiveQA-Medical-Test-Questions-w-summaries.xml``):

- Training files: root ``<NLM-QUESTIONS>``; each ``<NLM-QUESTION>`` (id in ``questionid``
  in Train-1, ``qid`` in Train-2) has ``<SUBJECT>``, ``<MESSAGE>`` and
  ``<SUB-QUESTIONS>/<SUB-QUESTION>/<ANSWERS>/<ANSWER>`` (one or more answers per
  sub-question, one or more sub-questions per question).
- Test files: root ``<LiveQA2017-Medical-Test-Set-Full>``; each ``<NLM-QUESTION qid>`` has
  ``<Original-Question>`` with ``<SUBJECT>``/``<MESSAGE>`` (``<Subject>``/``<Message>`` in
  ``Test.xml``) and ``<ReferenceAnswers>`` whose children are named **either**
  ``<ReferenceAnswer>`` **or** ``<RefAnswer>`` (both occur in the same file), each holding
  ``<ANSWER>`` (``<Answer>``), ``<AnswerURL>`` and ``<COMMENT>`` (``<Comment>``).

Mapping (deliberate):

- One entry per ``NLM-QUESTION``, task ``open_qa``. The question is the consumer's own text:
  ``SUBJECT`` and ``MESSAGE`` joined by a blank line (the subject is dropped when empty).
- ``answer`` lists every reference answer in file order (all sub-questions' answers for the
  training files), whitespace-normalised. Assessor comments are relevance notes, not
  explanations, so ``explanation`` stays empty.
- The split is the upstream one: the root element decides (training root -> ``train``,
  test root -> ``test``). Both test files hold the same questions, so when a folder holds
  both only ``...-Test-Questions-w-summaries.xml`` is read.
- Text is HTML-unescaped once more after XML parsing (the files contain ``&amp;quot;``).
- Rows without a question text or without any non-empty answer are rejected; a file that is
  not well-formed XML becomes one reject naming the file, and the build goes on.

Licence: the repository states none (NLM data, no licence file), so the source is marked
not redistributable.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator
from pathlib import Path

from globmed.errors import GlobmedError
from globmed.schema import Entry
from globmed.sources.base import Reject, Source, register
from globmed.sources.fetch import github_archive

REPO = "abachaa/LiveQA_MedicalTask_TREC2017"
TRAIN_ROOT = "NLM-QUESTIONS"
TEST_ROOT = "LiveQA2017-Medical-Test-Set-Full"
PREFERRED_TEST = "TREC-2017-LiveQA-Medical-Test-Questions-w-summaries.xml"
PLAIN_TEST = "TREC-2017-LiveQA-Medical-Test.xml"
REFERENCE_TAGS = ("ReferenceAnswer", "RefAnswer")


def _text(node: ET.Element | None) -> str:
    if node is None:
        return ""
    raw = "".join(node.itertext())
    return re.sub(r"\s+", " ", html.unescape(raw)).strip()


def _child(node: ET.Element, *names: str) -> ET.Element | None:
    for name in names:
        found = node.find(name)
        if found is not None:
            return found
    return None


@register
class LiveQASource(Source):
    name = "liveqa"
    tasks = ("open_qa",)
    languages = ("en",)
    expected_files = (
        "the LiveQA_MedicalTask_TREC2017 repository folder (or its TrainingDatasets/ and TestDataset/ "
        "XML files), or one of the XML files"
    )

    def default_path(self) -> Path:
        return github_archive(self.name, REPO)

    def files(self, root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        found = sorted(p for p in root.rglob("*.xml") if "LiveQA-Medical" in p.name)
        names = {p.name for p in found}
        if PREFERRED_TEST in names:
            found = [p for p in found if p.name != PLAIN_TEST]
        return found

    def read(self, path: Path | None = None, langs: Collection[str] | None = None) -> Iterator[Entry | Reject]:
        root = self.resolve_path(path)
        files = self.files(root)
        if not files:
            yield self.reject(root, None, "no TREC-2017-LiveQA-Medical-*.xml file found")
        for file in files:
            yield from self._read_file(file)

    def _read_file(self, file: Path) -> Iterator[Entry | Reject]:
        try:
            tree = ET.parse(file)
        except ET.ParseError as exc:  # not UTF-8, cut short, empty: the message has the line and column
            raise GlobmedError(f"{file}: not well-formed XML: {exc}") from None
        except OSError as exc:
            raise GlobmedError(f"cannot read {file}: {exc.strerror}") from None
        top = tree.getroot()
        if top.tag == TRAIN_ROOT:
            split = "train"
        elif top.tag == TEST_ROOT:
            split = "test"
        else:
            yield self.reject(file, None, f"unknown root element <{top.tag}> (expected <{TRAIN_ROOT}> or "
                              f"<{TEST_ROOT}>)", lang="en")
            return
        part = file.stem.replace("TREC-2017-LiveQA-Medical-", "")
        for rowno, question in enumerate(top.iter("NLM-QUESTION"), 1):
            yield self._entry(question, file, rowno, split, part)

    def _entry(self, q: ET.Element, file: Path, rowno: int, split: str, part: str) -> Entry | Reject:
        qid = q.get("questionid") or q.get("qid")
        if not qid:
            return self.reject(file, rowno, "NLM-QUESTION has no questionid/qid attribute", lang="en")
        holder = _child(q, "Original-Question") if split == "test" else q
        if holder is None:
            return self.reject(file, rowno, "test question has no <Original-Question>", id=qid, lang="en")
        subject = _text(_child(holder, "SUBJECT", "Subject"))
        message = _text(_child(holder, "MESSAGE", "Message"))
        question = "\n\n".join(t for t in (subject, message) if t)
        if not message:
            return self.reject(file, rowno, "empty MESSAGE (no question text)", id=qid, lang="en")
        if split == "test":
            refs = [r for r in q.iter() if r.tag in REFERENCE_TAGS]
            answers = [_text(_child(r, "ANSWER", "Answer")) for r in refs]
        else:
            answers = [_text(a) for a in q.iter("ANSWER")]
        answers = [a for a in answers if a]
        if not answers:
            return self.reject(file, rowno, "no non-empty reference answer", id=qid, lang="en")
        return Entry.create(
            source=self.name, lang="en", source_id=f"{part}/{qid}", task="open_qa", question=question,
            answer=answers, license=self.license, upstream_split=split, upstream_file=str(file),
            upstream_row=rowno,
        )

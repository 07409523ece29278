"""BatchPy3 (vectorised py3langid classify) agrees with py3langid's own per-text classify."""

from __future__ import annotations

import math
import unicodedata

import numpy as np
import pytest

pytest.importorskip("py3langid")
pytest.importorskip("scipy")

from py3langid.langid import MODEL_FILE  # noqa: E402
from py3langid.langid import LanguageIdentifier as Py3  # noqa: E402

from globmed.quality.py3batch import BatchPy3  # noqa: E402

SUBSET = ["en", "fr", "sw", "yo", "zu", "ha", "am", "zh", "ja", "ko", "es", "de", "pt", "ru", "ar", "hi", "bn",
          "th", "vi", "it", "tr"]

SENTENCES: dict[str, list[str]] = {
    "en": [
        "A 45-year-old man presents with fever and a dry cough for five days.",
        "What is the most appropriate next step in the management of this patient?",
        "The nurse checked the blood pressure twice before giving the medication.",
        "Chronic kidney disease is often caused by diabetes and high blood pressure.",
        "She was admitted to hospital for observation after the fall.",
        "Wash your hands with soap and clean water before eating.",
        "The child has had diarrhoea and vomiting since yesterday morning.",
        "Which of the following drugs is contraindicated in pregnancy?",
        "Malaria is transmitted by the bite of an infected female mosquito.",
        "Give oral antibiotics for one week and review in the clinic.",
    ],
    "fr": [
        "Un homme de 45 ans consulte pour une fièvre et une toux sèche depuis cinq jours.",
        "Quelle est la prochaine étape la plus appropriée dans la prise en charge de ce patient ?",
        "L'infirmière a vérifié la tension artérielle deux fois avant de donner le médicament.",
        "Le paludisme est transmis par la piqûre d'un moustique femelle infecté.",
        "Lavez-vous les mains avec du savon et de l'eau propre avant de manger.",
        "L'enfant a de la diarrhée et des vomissements depuis hier matin.",
        "Lequel des médicaments suivants est contre-indiqué pendant la grossesse ?",
        "Elle a été hospitalisée pour surveillance après sa chute dans l'escalier.",
        "Les maladies rénales chroniques sont souvent dues au diabète.",
        "Donnez des antibiotiques par voie orale pendant une semaine.",
    ],
    "sw": [
        "Mgonjwa mwenye umri wa miaka 45 anakuja kliniki akiwa na homa na kikohozi kikavu kwa siku tano.",
        "Ni matibabu gani ya kwanza yanayofaa zaidi kwa mgonjwa huyu?",
        "Kumpa dawa za kumeza kwa wiki moja na kumwona tena kliniki.",
        "Kumlaza hospitalini kwa uangalizi baada ya kuanguka.",
        "Kumwambia apumzike na anywe maji mengi kila siku.",
        "Malaria huambukizwa kwa kuumwa na mbu jike aliyeambukizwa.",
        "Mtoto ameharisha na kutapika tangu jana asubuhi.",
        "Nawa mikono kwa sabuni na maji safi kabla ya kula chakula.",
        "Ugonjwa sugu wa figo mara nyingi husababishwa na kisukari.",
        "Dawa ipi kati ya zifuatazo hairuhusiwi wakati wa ujauzito?",
    ],
    "yo": [
        "Láti ọjọ́ mẹ́tàdínlógún sẹ́yìn, ọmọbìnrin náà ti ní ìrora oríkèé àti ìrora àyà.",
        "Àyẹ̀wò wo ni dókítà gbọ́dọ̀ kọ́kọ́ ṣe fún ọmọbìnrin yìí?",
        "Fún un ní oògùn apakòkòrò láti mu fún ọ̀sẹ̀ kan.",
        "Tù ú nínú kí o sì rí i lẹ́yìn ọ̀sẹ̀ méjì.",
        "Ọmọ mi ń lọ sí ilé-ìwé ní àárọ̀ ọjọ́ Ajé.",
        "Ibà jẹ́ àìsàn tí ẹ̀fọn abo máa ń kó ranni.",
        "Ẹ fọ ọwọ́ yín pẹ̀lú ọṣẹ àti omi mímọ́ kí ẹ tó jẹun.",
        "Ọmọdé náà ti ń ṣu, ó sì ń bì láti àná.",
        "Oògùn wo nínú àwọn wọ̀nyí ni kò yẹ fún aboyún?",
        "Wọ́n gbé e lọ sí ilé ìwòsàn fún àbójútó lẹ́yìn tí ó ṣubú.",
    ],
    "zu": [
        "Indoda eneminyaka engama-45 ifika nomkhuhlane nokukhwehlela okomile izinsuku ezinhlanu.",
        "Yisiphi isinyathelo esilandelayo esifanele kakhulu ekwelapheni lesi siguli?",
        "Unesi uhlole umfutho wegazi kabili ngaphambi kokunika umuthi.",
        "Umalaleveva udluliselwa ngokulunywa umiyane wesifazane onegciwane.",
        "Geza izandla zakho ngensipho namanzi ahlanzekile ngaphambi kokudla.",
        "Ingane ibinohudo futhi ihlanza kusukela izolo ekuseni.",
        "Yimuphi kule mithi elandelayo ongavunyelwe ngesikhathi sokukhulelwa?",
        "Walaliswa esibhedlela ukuze abhekwe ngemuva kokuwa.",
        "Isifo sezinso esingapheli sivame ukubangelwa isifo sikashukela.",
        "Nikeza ama-antibiotic okuphuzwa isonto lonke bese umbona futhi.",
    ],
    "ha": [
        "Wani mutum mai shekaru 45 ya zo asibiti da zazzaɓi da tari mai bushewa na kwana biyar.",
        "Mene ne mataki na gaba mafi dacewa wajen kula da wannan majiyyaci?",
        "Ma'aikaciyar jinya ta auna hawan jini sau biyu kafin ta ba da magani.",
        "Ana kamuwa da zazzaɓin cizon sauro ta hanyar cizon macen sauro.",
        "Ku wanke hannuwanku da sabulu da ruwa mai tsabta kafin cin abinci.",
        "Yaron yana gudawa da amai tun jiya da safe.",
        "Wanne daga cikin waɗannan magunguna ba a so mace mai ciki ta sha?",
        "An kwantar da ita a asibiti don a lura da ita bayan ta faɗi.",
        "Ciwon ƙoda na dogon lokaci yakan samo asali daga ciwon suga.",
        "Ƙaramar yarinya ta ɗauki ruwa daga rijiya ta kai wa mahaifiyarta.",
    ],
    "am": [
        "የ45 ዓመት ሰው ለአምስት ቀናት ትኩሳትና ደረቅ ሳል ይዞ መጣ።",
        "ለዚህ ታካሚ በጣም ተገቢው ቀጣይ እርምጃ ምንድን ነው?",
        "ነርሷ መድኃኒቱን ከመስጠቷ በፊት የደም ግፊቱን ሁለት ጊዜ ለካች።",
        "ወባ በበሽታው በተያዘች ሴት ትንኝ ንክሻ ይተላለፋል።",
        "ከመመገብዎ በፊት እጅዎን በሳሙናና በንጹሕ ውሃ ይታጠቡ።",
        "ልጁ ከትናንት ጠዋት ጀምሮ ተቅማጥና ትውከት አለበት።",
        "ከሚከተሉት መድኃኒቶች ውስጥ በእርግዝና ወቅት የተከለከለው የትኛው ነው?",
        "ከወደቀች በኋላ ለክትትል ሆስፒታል ገብታለች።",
    ],
    "zh": [
        "一名45岁男性因发热和干咳五天就诊。",
        "对该患者最合适的下一步处理是什么？",
        "护士在给药前测量了两次血压。",
        "疟疾是通过受感染的雌性蚊子叮咬传播的。",
        "饭前请用肥皂和清水洗手。",
        "孩子从昨天早上开始腹泻和呕吐。",
        "下列哪种药物在妊娠期禁用？",
        "她摔倒后被送进医院观察。",
    ],
    "ja": [
        "45歳の男性が5日前からの発熱と乾いた咳を主訴に来院した。",
        "この患者の管理において最も適切な次の手順はどれか。",
        "看護師は薬を投与する前に血圧を二回測定した。",
        "マラリアは感染した雌の蚊に刺されることで伝染する。",
        "食事の前に石けんときれいな水で手を洗いましょう。",
        "子どもは昨日の朝から下痢と嘔吐が続いている。",
        "次のうち妊娠中に禁忌となる薬はどれか。",
        "彼女は転倒した後、経過観察のために入院した。",
    ],
    "ko": [
        "45세 남성이 5일 동안 지속된 발열과 마른기침으로 내원하였다.",
        "이 환자의 관리에서 가장 적절한 다음 단계는 무엇인가?",
        "간호사는 약을 주기 전에 혈압을 두 번 측정했다.",
        "말라리아는 감염된 암컷 모기에 물려서 전파된다.",
        "식사 전에 비누와 깨끗한 물로 손을 씻으세요.",
        "아이는 어제 아침부터 설사와 구토를 하고 있다.",
        "다음 중 임신 중에 금기인 약물은 무엇인가?",
        "그녀는 넘어진 후 관찰을 위해 입원하였다.",
    ],
    "ar": [
        "رجل يبلغ من العمر 45 عامًا يشكو من حمى وسعال جاف منذ خمسة أيام.",
        "ما هي الخطوة التالية الأنسب في علاج هذا المريض؟",
        "قامت الممرضة بقياس ضغط الدم مرتين قبل إعطاء الدواء.",
        "تنتقل الملاريا عن طريق لدغة أنثى البعوض المصابة.",
        "اغسل يديك بالصابون والماء النظيف قبل الأكل.",
        "يعاني الطفل من الإسهال والقيء منذ صباح أمس.",
        "أي من الأدوية التالية يمنع استعماله أثناء الحمل؟",
        "أدخلت إلى المستشفى للمراقبة بعد سقوطها.",
    ],
    "ru": [
        "Мужчина 45 лет обратился с лихорадкой и сухим кашлем в течение пяти дней.",
        "Какой следующий шаг наиболее уместен в лечении этого пациента?",
        "Медсестра дважды измерила давление перед введением препарата.",
        "Малярия передаётся через укус заражённой самки комара.",
        "Мойте руки с мылом и чистой водой перед едой.",
        "У ребёнка со вчерашнего утра диарея и рвота.",
        "Какой из следующих препаратов противопоказан при беременности?",
        "Её госпитализировали для наблюдения после падения.",
    ],
    "es": [
        "Un hombre de 45 años acude por fiebre y tos seca desde hace cinco días.",
        "¿Cuál es el siguiente paso más adecuado en el manejo de este paciente?",
        "La enfermera midió la presión arterial dos veces antes de dar el medicamento.",
        "La malaria se transmite por la picadura de un mosquito hembra infectado.",
        "Lávese las manos con jabón y agua limpia antes de comer.",
        "¿Cuál de los siguientes fármacos está contraindicado en el embarazo?",
    ],
    "de": [
        "Ein 45-jähriger Mann stellt sich mit Fieber und trockenem Husten seit fünf Tagen vor.",
        "Was ist der am besten geeignete nächste Schritt bei der Behandlung dieses Patienten?",
        "Die Krankenschwester maß den Blutdruck zweimal, bevor sie das Medikament gab.",
        "Malaria wird durch den Stich einer infizierten weiblichen Mücke übertragen.",
        "Waschen Sie sich vor dem Essen die Hände mit Seife und sauberem Wasser.",
        "Welches der folgenden Medikamente ist in der Schwangerschaft kontraindiziert?",
    ],
    "pt": [
        "Um homem de 45 anos apresenta febre e tosse seca há cinco dias.",
        "Qual é o próximo passo mais adequado no tratamento deste paciente?",
        "A enfermeira mediu a pressão arterial duas vezes antes de administrar o medicamento.",
        "A malária é transmitida pela picada de um mosquito fêmea infectado.",
        "Lave as mãos com sabão e água limpa antes de comer.",
        "Qual dos seguintes medicamentos é contraindicado na gravidez?",
    ],
    "it": [
        "Un uomo di 45 anni si presenta con febbre e tosse secca da cinque giorni.",
        "Qual è il passo successivo più appropriato nella gestione di questo paziente?",
        "L'infermiera ha misurato la pressione due volte prima di dare il farmaco.",
        "La malaria è trasmessa dalla puntura di una zanzara femmina infetta.",
    ],
    "tr": [
        "45 yaşında bir erkek beş gündür ateş ve kuru öksürük şikâyetiyle başvurdu.",
        "Bu hastanın tedavisinde en uygun sonraki adım nedir?",
        "Hemşire ilacı vermeden önce tansiyonu iki kez ölçtü.",
        "Sıtma, enfekte dişi sivrisineğin ısırmasıyla bulaşır.",
    ],
    "vi": [
        "Một người đàn ông 45 tuổi đến khám vì sốt và ho khan trong năm ngày.",
        "Bước tiếp theo phù hợp nhất trong điều trị bệnh nhân này là gì?",
        "Y tá đã đo huyết áp hai lần trước khi cho thuốc.",
        "Bệnh sốt rét lây truyền qua vết đốt của muỗi cái bị nhiễm bệnh.",
    ],
    "hi": [
        "45 वर्षीय एक व्यक्ति पाँच दिनों से बुखार और सूखी खाँसी के साथ आया।",
        "इस रोगी के उपचार में सबसे उपयुक्त अगला कदम क्या है?",
        "नर्स ने दवा देने से पहले दो बार रक्तचाप मापा।",
        "मलेरिया संक्रमित मादा मच्छर के काटने से फैलता है।",
    ],
    "bn": [
        "৪৫ বছর বয়সী একজন পুরুষ পাঁচ দিন ধরে জ্বর ও শুকনো কাশি নিয়ে এসেছেন।",
        "এই রোগীর চিকিৎসায় সবচেয়ে উপযুক্ত পরবর্তী পদক্ষেপ কী?",
        "নার্স ওষুধ দেওয়ার আগে দুবার রক্তচাপ মেপেছেন।",
        "ম্যালেরিয়া সংক্রমিত স্ত্রী মশার কামড়ে ছড়ায়।",
    ],
    "th": [
        "ชายอายุ 45 ปีมาด้วยอาการไข้และไอแห้งมาห้าวัน",
        "ขั้นตอนต่อไปที่เหมาะสมที่สุดในการดูแลผู้ป่วยรายนี้คืออะไร",
        "พยาบาลวัดความดันโลหิตสองครั้งก่อนให้ยา",
        "โรคมาลาเรียติดต่อผ่านการกัดของยุงตัวเมียที่ติดเชื้อ",
    ],
    "sr": [
        "Мушкарац од 45 година јавио се због грознице и сувог кашља пет дана.",
        "Muškarac od 45 godina javio se zbog groznice i suvog kašlja pet dana.",
    ],
}

ODD = [
    "", " ", "\n\t  ", "0", "1234567890", "12 345,67 / 89.0 %", "+234 803 555 0199", "3.14159 2.71828 1.41421",
    "!!!", "???", "...", "--- *** ---", "😀", "😀😃😄😁🙂", "🩺💊🏥 🧬🦠", "👍🏽👩🏾‍⚕️", "𝕳𝖊𝖑𝖑𝖔 𝖜𝖔𝖗𝖑𝖉",
    "𠜎𠜱𠝹𠱓𠱸𠲖𠳏", "𐐷𐐸𐐹", "\U0001f600 hello \U0001f600", "\ud83d", "a\udc00b", "é", "ẹ́", "ß", "Ω", "ж", "中",
    "あ", "한", "ም", "ع", "CO2 H2O NaCl", "mg/dL mmol/L µg IU", "http://example.com/a?b=c&d=e",
    "x" * 3, "ab" * 2000, "ọ" * 500, "中文" * 700, "\U0001f600" * 600,
]

MIXED = [
    "Mgonjwa ana homa. The patient has a fever. 患者发烧。",
    "Ọmọ náà ní ibà, so we gave paracetamol 500 mg.",
    "Indoda ifika nomkhuhlane — Un homme consulte pour une fièvre.",
    "Wani mutum ya zo asibiti with chest pain and shortness of breath.",
    "ለዚህ ታካሚ what is the best treatment? 이 환자에게",
    "Лихорадка fever حمى 发热 熱 발열 homa ibà",
    "HbA1c 7.6 %, WBC 18428/µL, CRP 110 mg/L, T 38.1 °C, 87 kg",
    "東京 is the capital of Japan; Nairobi ni mji mkuu wa Kenya.",
]


def _nfd_variants() -> list[str]:
    out = []
    for s in SENTENCES["yo"] + SENTENCES["vi"] + SENTENCES["fr"][:3]:
        out.append(unicodedata.normalize("NFD", s))  # py3langid NFC-normalises first
    return out


def all_texts() -> list[str]:
    texts: list[str] = []
    for sents in SENTENCES.values():
        texts.extend(sents)
        texts.append(" ".join(sents))  # long paragraph
        for s in sents:
            texts.append(s[: max(1, len(s) // 3)])  # short prefixes
        texts.extend(s.upper() for s in sents[:3])  # all-uppercase -> lower-cased by py3langid
        texts.append(sents[0].upper() + " 123")
        texts.append(sents[0].title())
    texts.extend(ODD)
    texts.extend(MIXED)
    texts.extend(_nfd_variants())
    return texts


TEXTS = all_texts()


@pytest.fixture(scope="module")
def ident():
    return Py3.from_model_file(MODEL_FILE, norm_probs=True)


def assert_agrees(ident, texts, batch: BatchPy3 | None = None) -> None:
    batch = batch or BatchPy3(ident)
    labels, conf = batch.classify(texts)
    assert isinstance(conf, np.ndarray) and conf.shape == (len(texts),)
    assert len(labels) == len(texts)
    bad = []
    for t, lab, p in zip(texts, labels, conf.tolist(), strict=True):
        ref_lab, ref_p = ident.classify(t)
        if lab != ref_lab or not math.isclose(p, ref_p, rel_tol=1e-4, abs_tol=0.0):
            bad.append((t[:40], (lab, p), (ref_lab, ref_p)))
    assert not bad, f"{len(bad)} of {len(texts)} disagree: {bad[:10]}"


def test_corpus_is_big_and_varied():
    assert len(TEXTS) >= 300
    assert len(set(TEXTS)) > 290


def test_full_language_set(ident):
    ident.set_languages(None)
    assert_agrees(ident, TEXTS)


def test_restricted_language_subset(ident):
    langs = sorted(set(SUBSET) & set(ident.nb_classes))
    assert len(langs) >= 15
    ident.set_languages(langs)
    try:
        assert_agrees(ident, TEXTS)
    finally:
        ident.set_languages(None)


def test_subset_with_aliased_labels(ident):
    # "sr" and "uz" each occupy two columns (scripts); the batch merges them as py3langid does.
    langs = sorted({"sr", "uz", "ru", "en", "hr", "bs", "mk", "kk"} & set(ident.nb_classes))
    ident.set_languages(langs)
    try:
        assert ident._alias_pairs
        assert_agrees(ident, TEXTS)
    finally:
        ident.set_languages(None)


def test_set_languages_after_construction_is_picked_up(ident):
    ident.set_languages(None)
    batch = BatchPy3(ident)
    assert_agrees(ident, TEXTS[:60], batch)
    ident.set_languages(["en", "fr", "sw"])
    try:
        labels, _ = batch.classify(TEXTS)
        assert set(labels) <= {"en", "fr", "sw"}
        assert_agrees(ident, TEXTS, batch)
    finally:
        ident.set_languages(None)


def test_featureless_texts_match_uniform_abstention(ident):
    ident.set_languages(None)
    texts = ["", "1234567890", "   "]
    labels, conf = BatchPy3(ident).classify(texts)
    for t, lab, p in zip(texts, labels, conf, strict=True):
        assert (lab, pytest.approx(p, rel=1e-6)) == ident.classify(t)


def test_small_chunks_and_python_tail(ident):
    ident.set_languages(None)
    texts = TEXTS + ["Mgonjwa ana homa kali. " * 400, "x"]
    # tiny chunks (many chunk boundaries), a cell budget that forces one-text chunks for long texts,
    # and a tail threshold that hands most of the walk to the scalar loop
    for kw in ({"chunk_size": 7}, {"max_cells": 2000}, {"tail": 1000}, {"tail": 0, "chunk_size": 3}):
        assert_agrees(ident, texts, BatchPy3(ident, **kw))


def test_bytes_inputs(ident):
    ident.set_languages(None)
    texts = [s.encode() for s in SENTENCES["yo"][:4] + SENTENCES["ja"][:4]]
    texts += ["Ọmọ mi ń lọ".encode()[:-1], b"\xff\xfe invalid bytes", b"", "ÉCOLE".encode()]
    assert_agrees(ident, texts)


def test_min_confidence_gives_und(ident):
    ident.set_languages(None)
    old = ident.min_confidence
    ident.min_confidence = 0.9
    try:
        labels, _ = BatchPy3(ident).classify(TEXTS)
        assert "und" in labels and len(set(labels)) > 2
        assert_agrees(ident, TEXTS)
    finally:
        ident.min_confidence = old


def test_raw_scores_without_norm_probs(ident):
    ident.set_languages(None)
    old = ident._norm_probs
    ident._norm_probs = False
    try:
        assert_agrees(ident, TEXTS)
    finally:
        ident._norm_probs = old


def test_empty_batch(ident):
    labels, conf = BatchPy3(ident).classify([])
    assert labels == [] and conf.shape == (0,)


def test_py3langid_loads_from_its_unpacked_copy_as_from_its_own_file(tmp_path, monkeypatch):
    """globmed.quality.lid_parts.py3langid_identifier: the LZMA-packed model unpacked once into the user
    cache gives the very identifier py3langid makes; an unreadable copy or an unwritable cache falls back
    to py3langid's own loading."""
    import numpy as np
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Py3

    from globmed.quality.lid_parts import py3langid_identifier

    monkeypatch.setenv("GLOBMED_CACHE", str(tmp_path / "cache"))
    own = Py3.from_model_file(MODEL_FILE, norm_probs=True)
    texts = ["The patient presented with fever and cough.", "Le patient présente une fièvre.",
             "Mgonjwa ana homa na kikohozi.", "患者は発熱と咳を呈した。", "Больной жалуется на кашель."]

    def same(ident) -> None:
        assert np.array_equal(ident.nb_ptc, own.nb_ptc) and np.array_equal(ident.nb_pc, own.nb_pc)
        assert ident.nb_classes == own.nb_classes and ident.tk_output == own.tk_output
        assert ident.tk_nextmove == own.tk_nextmove and ident.tk_row == own.tk_row
        assert [ident.classify(t) for t in texts] == [own.classify(t) for t in texts]

    same(py3langid_identifier())  # unpacks
    [unpacked] = (tmp_path / "cache" / "py3langid").glob("model-*.npz")
    same(py3langid_identifier())  # reads the copy
    unpacked.write_bytes(b"not an npz file")
    same(py3langid_identifier())  # unreadable: py3langid's own, and the copy goes
    assert not unpacked.exists()
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("GLOBMED_CACHE", str(tmp_path / "file"))  # a cache that cannot be made
    same(py3langid_identifier())

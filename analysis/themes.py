"""Themes: the words and two-word phrases that rise in an incident's mentions against the baseline.

Weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi &
Quinn 2008, "Fightin' Words"): the prior is the pooled frequency of each term,
so rare terms are shrunk and the z-score says how surely a term is more
frequent in the incident than before. Terms are counted once per mention, so
one long or repeated post cannot make a theme by itself.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

STOP_WORDS = frozenset("""
a about above after again against all almost also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each even ever
every few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here here's
hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just let's
like make many may me might more most much must mustn't my myself need never no nor not now of off on once one only or
other ought our ours ourselves out over own really same say said says shan't she she'd she'll she's should shouldn't
since so some still such than that that's the their theirs them themselves then there there's these they they'd
they'll they're they've this those though through to too under until up upon us very via was wasn't way we we'd we'll
we're we've were weren't what what's when when's where where's whether which while who who's whom why why's will with
within without won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
anyone anything everyone everything someone something thing things lot lots also ok okay yes yeah hn http https www com
amp quot gt lt nbsp today yesterday last night day days week time times new use used using know think see want go going
""".split())
# The function words of the other languages the model reads: never a theme ("que, de, la" say nothing).
OTHER_STOP_WORDS = frozenset("""
de la el los las del que y en un una unos unas por para con es son muy pero mi mis su sus lo se le les ya porque como más
mas está esta este esto estos estas ese esa eso fue han hay sin también tambien todo toda todos nada bien al o u ni si
yo tu tú te me nos ustedes usted él ella ellos ellas ser estar tiene tengo tienen puedo hace hacer ha he han sido
os um uma da dos das não nao na no nos nas com em é mas meu minha seu sua foi são sao isso essa ele ela eles elas você
voce ainda já ja pelo pela também ao aos à às eu tem ter está estão
der die das und ist nicht ich sie es ein eine einen einem einer den dem des mit auf für fur von zu zum zur auch sich wir
ihr sehr aber noch nur wie bei nach kein keine wurde wird schon mein meine immer habe haben dass oder wenn über uber
mir mich dir dich sind bin bist doch mal so ja nein
le les des du une et est pas je vous il elle nous ils elles sur avec pour dans très tres mais mon ma mes ce cette ces
sont été ete qui que ne au aux leur leurs votre vos tout tous plus moi toi lui on en y a
il lo gli della delle dei degli che non è sono per con una uno del nel nella ma molto anche mio mia suo sua questo
questa come più perché perche ancora sempre ho ha hanno mi ti ci si da di al alla alle ai io tu lui lei noi voi loro
het een van en niet ik je dat voor zijn maar ook nog wel geen heb hebben bij naar mijn dit deze wordt werd al erg
hai hain nahi nahin nai kya kyu kyun bhai yaar yr ki ke ka ko se mein mai tha thi ho hoga kar kr raha rahe rahi sab
kuch koi ab jab tab apni apna mera meri ye yeh wo woh aur bhi toh hota hoti
في من على إلى الى عن مع هذا هذه ذلك التي الذي أن ان لا ما هو هي كان كل قد لم لن و يا
""".split())

_CLAUSE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”|\n]+|\s[-–—]\s")
# A word of any script's letters (aplicación, Rückerstattung, रिफंड, استرداد), with its digits, apostrophes, hyphens.
_WORD = re.compile(r"[^\W\d_][\w'’\-]*[^\W_]|[^\W\d_]")


@dataclass(frozen=True)
class Theme:
    term: str
    z: float  # weighted log-odds z-score: how surely the term rose
    count: int  # incident mentions containing it
    baseline_count: int


def tokens(text: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    words = [w.replace("’", "'") for w in _WORD.findall((text or "").lower())]
    return [w if w not in STOP_WORDS and w not in OTHER_STOP_WORDS and w not in exclude and len(w) > 1 else ""
            for w in words]


def mention_terms(text: str, exclude: frozenset[str] = frozenset()) -> set[str]:
    """Unigrams and adjacent two-word phrases (neither a stop word nor excluded, nor split by punctuation:
    "refund please, charged twice" has no "please charged"), as a set."""
    terms: set[str] = set()
    for clause in _CLAUSE_BREAK.split(text or ""):
        toks = tokens(clause, exclude)
        terms |= {t for t in toks if t and not t.isdigit()}
        terms |= {f"{a} {b}" for a, b in zip(toks, toks[1:]) if a and b and a != b}
    return terms


def brand_exclusions(names: Iterable[str]) -> frozenset[str]:
    """The brand's own names, as the tokens they split into (and their possessives)."""
    out: set[str] = set()
    for name in names:
        for tok in _WORD.findall(name.lower()):
            out |= {tok, f"{tok}'s", tok.rstrip("s")}
    return frozenset(out)


def rising_terms(
    incident_texts: Sequence[str],
    baseline_texts: Sequence[str],
    exclude: Iterable[str] = (),
    top: int = 5,
    min_count: int = 3,
    min_z: float = 1.0,  # one standard error: small incidents (a few bad reviews) still get themes
    prior_strength: float = 100.0,
) -> list[Theme]:
    """The terms most surely more frequent in the incident's mentions than in the baseline's."""
    excluded = brand_exclusions(exclude)
    inc = Counter(t for text in incident_texts for t in mention_terms(text, excluded))
    base = Counter(t for text in baseline_texts for t in mention_terms(text, excluded))
    n_i, n_j = sum(inc.values()), sum(base.values())
    if not n_i:
        return []
    pooled = inc + base
    total = sum(pooled.values())
    themes = []
    for term, y_i in inc.items():
        if y_i < min_count:
            continue
        y_j = base.get(term, 0)
        a_w = prior_strength * pooled[term] / total
        a_0 = prior_strength
        delta = (math.log((y_i + a_w) / (n_i + a_0 - y_i - a_w))
                 - math.log((y_j + a_w) / (n_j + a_0 - y_j - a_w)))
        z = delta / math.sqrt(1.0 / (y_i + a_w) + 1.0 / (y_j + a_w))
        if z >= min_z:
            themes.append(Theme(term, z, y_i, y_j))
    themes.sort(key=lambda t: (-t.z, t.term))
    return _prefer_phrases(themes)[:top]


def _prefer_phrases(themes: list[Theme]) -> list[Theme]:
    """Drop a word when a chosen phrase holding it explains most of its mentions ("log" under "log in")."""
    phrases = [t for t in themes if " " in t.term]
    out = []
    for t in themes:
        if " " not in t.term and any(t.term in p.term.split() and p.count >= 0.8 * t.count for p in phrases):
            continue
        out.append(t)
    return out

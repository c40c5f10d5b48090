"""The region catalogue: Vietnam, its 34 provinces and their wards, with forgiving name matching.

Region ids are paths of official codes: ``"vn"``, ``"vn/<province>"``, ``"vn/<province>/<ward>"``, each code
written as a plain integer without zero padding (``"vn/1/4"`` is Phường Ba Đình, Thành phố Hà Nội).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.text import shortened

RegionKind = Literal["country", "province", "ward"]
CollationKey = tuple[str, str, str]

COUNTRY_ID = "vn"
COUNTRY_NAME = "Việt Nam"
MAX_SUGGESTIONS = 5
# No region's name (with its type word and province) is near this long: longer text is refused
# before matching, which otherwise costs time in proportion to its length for every region.
MAX_REGION_TEXT = 100

# Type words that open official names; a query may carry them or not.
_NAME_PREFIXES: dict[RegionKind, tuple[str, ...]] = {
    "country": (),
    "province": ("thành phố", "tỉnh"),
    "ward": ("phường", "xã", "đặc khu"),
}
# What people also type in front of a name: abbreviations and the capital's epithet.
_QUERY_PREFIXES: dict[RegionKind, tuple[str, ...]] = {
    "country": (),
    "province": ("thành phố", "tỉnh", "tp", "thủ đô"),
    "ward": ("phường", "xã", "đặc khu", "p", "x"),
}
_QUERY_SUFFIXES: dict[RegionKind, tuple[str, ...]] = {
    "country": (),
    "province": ("city", "province"),
    "ward": ("ward", "commune"),
}
# Other names people use, by the code path they stand for ("" is the country itself).
_VIETNAM_ALIASES: dict[str, str] = {
    "vn": "",
    "vietnam": "",
    "toàn quốc": "",
    "cả nước": "",
    "hn": "/1",
    "hcm": "/79",
    "tphcm": "/79",
    "sài gòn": "/79",
    "sg": "/79",
    "hp": "/31",
}

# An id as people may write it: any case, zero padded codes ("VN/01/00004").
_ID_SHAPE = re.compile(r"^[a-z]{2}(?:/\d{1,9})+$")
_SEPARATORS = re.compile(r"[\W_]+")
# Combining marks (every Unicode block of them) vanish; đ is a letter of its own in Unicode, so it is mapped.
_COMBINING_BLOCKS = ((0x0300, 0x0370), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100), (0xFE20, 0xFE30))
_FOLD_TABLE: dict[int, str | None] = {
    code: None for start, stop in _COMBINING_BLOCKS for code in range(start, stop)
} | {ord("đ"): "d"}

# Vietnamese dictionary order: letters with breve, circumflex or horn and đ are letters of their own;
# tones (ngang, huyền, hỏi, ngã, sắc, nặng) only break ties.
_ALPHABET = "0123456789aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_RANK = {letter: rank for rank, letter in enumerate(_ALPHABET, start=1)}
_TONE_RANK = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@dataclass(frozen=True)
class Region:
    """One node of the catalogue: the country, a province or a ward."""

    id: str
    name: str
    kind: RegionKind
    parent_id: str | None

    @property
    def path(self) -> tuple[str, ...]:
        """Ids from the country down to this region, e.g. ``("vn", "vn/1", "vn/1/4")``."""
        parts = self.id.split("/")
        return tuple("/".join(parts[: depth + 1]) for depth in range(len(parts)))


class UnknownRegion(ValueError):
    """Text or an id that names no region, or names several (``ambiguous``)."""

    def __init__(self, query: str, suggestions: Sequence[Region] = (), *, ambiguous: bool = False) -> None:
        self.query = shortened(query)
        self.suggestions = list(suggestions)
        self.ambiguous = ambiguous
        names = "; ".join(region.name for region in self.suggestions)
        if ambiguous:
            message = f"{self.query!r} names several regions: {names}"
        elif names:
            message = f"no region named {self.query!r}; close names: {names}"
        else:
            message = f"no region named {self.query!r}"
        super().__init__(message)


def fold(text: str) -> str:
    """Lower-case text without diacritics (đ becomes d), punctuation as spaces, spaces collapsed."""
    bare = unicodedata.normalize("NFD", text.casefold()).translate(_FOLD_TABLE)
    return " ".join(_SEPARATORS.sub(" ", bare).split())


def _light(text: str) -> str:
    """Lower-case text keeping its diacritics, punctuation as spaces, spaces collapsed."""
    return " ".join(_SEPARATORS.sub(" ", unicodedata.normalize("NFC", text).casefold()).split())


def _compact(text: str) -> str:
    return text.replace(" ", "")


@functools.cache
def _letter_key(char: str) -> tuple[str, str]:
    """Rank of a letter in the Vietnamese alphabet and of its tone, each as one character."""
    if not char.isalnum():
        return "\0", "\0"
    parts = unicodedata.normalize("NFD", char)
    tone = next((_TONE_RANK[mark] for mark in parts if mark in _TONE_RANK), 0)
    letter = unicodedata.normalize("NFC", "".join(mark for mark in parts if mark not in _TONE_RANK))
    return chr(_LETTER_RANK.get(letter, len(_ALPHABET) + ord(letter[0]))), chr(tone)


@functools.cache
def _word_key(word: str) -> tuple[str, str]:
    """Letter ranks and tone ranks of one word; names share few distinct words, so this is cached."""
    keys = [_letter_key(char) for char in word]
    return "".join(letter for letter, _ in keys), "".join(tone for _, tone in keys)


def collation_key(text: str) -> CollationKey:
    """A sort key that orders names as a Vietnamese dictionary does (Đ after D, Ă and Â after A)."""
    keys = [_word_key(word) for word in _light(text).split(" ")]
    # "\0" ranks below every letter, so "Ba Vì" sorts before "Bác Ái", word by word.
    return "\0".join(letters for letters, _ in keys), "\0".join(tones for _, tones in keys), text


def _strip_type(text: str, prefixes: Iterable[str], suffixes: Iterable[str] = ()) -> set[str]:
    """The text itself and the text without one leading type word or one trailing suffix word."""
    forms = {text}
    for prefix in prefixes:
        if text.startswith(prefix + " "):
            forms.add(text[len(prefix) + 1 :])
    for suffix in suffixes:
        if text.endswith(" " + suffix):
            forms.add(text[: -len(suffix) - 1])
    return forms


@dataclass(frozen=True)
class _Names:
    """Precomputed comparison forms of one region's name."""

    full_light: str
    base_light: str
    full_fold: str
    base_fold: str
    sort_key: tuple[CollationKey, str]

    @classmethod
    def of(cls, region: Region) -> _Names:
        full_light = _light(region.name)
        bases = _strip_type(full_light, _NAME_PREFIXES[region.kind]) - {full_light}
        base_light = min(bases, key=len) if bases else full_light
        return cls(
            full_light=full_light,
            base_light=base_light,
            full_fold=fold(full_light),
            base_fold=fold(base_light),
            sort_key=(collation_key(base_light), full_light),
        )


@dataclass(frozen=True)
class _Query:
    """The forms of one typed query, with and without type words."""

    text: str
    light: frozenset[str]
    folded: frozenset[str]
    compact: frozenset[str]

    @classmethod
    def of(cls, text: str, kind: RegionKind) -> _Query:
        if len(text) > MAX_REGION_TEXT:
            return cls(text=text, light=frozenset(), folded=frozenset(), compact=frozenset())
        prefixes, suffixes = _QUERY_PREFIXES[kind], _QUERY_SUFFIXES[kind]
        light = _strip_type(_light(text), prefixes, suffixes)
        folded = {fold(form) for form in light}
        folded |= _strip_type(fold(text), [fold(p) for p in prefixes], suffixes)
        light.discard("")
        folded.discard("")
        return cls(
            text=text,
            light=frozenset(light),
            folded=frozenset(folded),
            compact=frozenset(_compact(form) for form in folded),
        )


class RegionCatalogue:
    """An immutable tree of regions with lookups by id and by what people type."""

    def __init__(self, regions: Iterable[Region], *, aliases: Mapping[str, str] | None = None) -> None:
        """Index the regions; `aliases` maps other names people use (folded when compared) to region ids."""
        self._by_id: dict[str, Region] = {}
        for region in regions:
            if region.id in self._by_id:
                raise ValueError(f"duplicate region id {region.id!r}")
            self._by_id[region.id] = region
        roots = [region for region in self._by_id.values() if region.parent_id is None]
        if len(roots) != 1 or roots[0].kind != "country":
            raise ValueError("a catalogue has exactly one root, the country")
        self._country = roots[0]
        self._names = {region_id: _Names.of(region) for region_id, region in self._by_id.items()}
        children: dict[str, list[Region]] = {region_id: [] for region_id in self._by_id}
        for region in self._by_id.values():
            if region.parent_id is None:
                continue
            parent = self._by_id.get(region.parent_id)
            if parent is None or region.path[:-1] != parent.path:
                raise ValueError(f"region {region.id!r} does not sit under {region.parent_id!r}")
            children[region.parent_id].append(region)
        self._children = {
            region_id: tuple(sorted(kids, key=lambda kid: self._names[kid.id].sort_key))
            for region_id, kids in children.items()
        }
        self._aliases: dict[str, str] = {}
        for alias, region_id in (aliases or {}).items():
            if region_id not in self._by_id:
                raise ValueError(f"alias {alias!r} points at unknown region {region_id!r}")
            self._aliases[_compact(fold(alias))] = region_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._by_id.values())

    def get(self, region_id: str) -> Region | None:
        """The region with this id, or None."""
        return self._by_id.get(region_id)

    def require(self, region_id: str) -> Region:
        """The region with this id; UnknownRegion when there is none."""
        region = self._by_id.get(region_id)
        if region is None:
            raise UnknownRegion(region_id)
        return region

    def country(self) -> Region:
        """The root of the catalogue."""
        return self._country

    def provinces(self) -> list[Region]:
        """All provinces and centrally governed cities, in Vietnamese alphabetical order."""
        return list(self._children[self._country.id])

    def wards(self, province_id: str) -> list[Region]:
        """The wards, communes and special zones of a province, in Vietnamese alphabetical order."""
        return list(self._children[self._require_kind(province_id, "province").id])

    def children(self, region_id: str) -> list[Region]:
        """The regions directly under this one."""
        return list(self._children[self.require(region_id).id])

    def match_province(self, text: str) -> Region:
        """The province a person means by this text; UnknownRegion with close names otherwise."""
        return self._match(self.provinces(), _Query.of(text, "province"), use_aliases=True)

    def match_ward(self, province_id: str, text: str, *, guess: bool = True) -> Region:
        """The ward of this province a person means by this text; UnknownRegion with candidates otherwise.

        `guess=False` refuses the last resort (the one ward whose name starts with the text).
        """
        query = _Query.of(text, "ward")
        return self._match(self.wards(province_id), query, use_aliases=False, guess=guess)

    def search_wards(self, province_id: str, text: str, limit: int = 8) -> list[Region]:
        """Wards whose name contains the text, those starting with it first; for a chat search box."""
        wards = self.wards(province_id)
        query = _Query.of(text, "ward")
        if not query.folded or limit <= 0:
            return []
        ranked: list[tuple[int, Region]] = []
        for ward in wards:
            rank = self._search_rank(self._names[ward.id], query)
            if rank is not None:
                ranked.append((rank, ward))
        # `wards` is already in alphabetical order and sorting is stable.
        ranked.sort(key=lambda item: item[0])
        return [ward for _, ward in ranked[:limit]]

    def resolve(self, text: str) -> Region:
        """Any region from what a person or a file says.

        Accepts an id (``vn/1/4``), the country (``vn``, ``Việt Nam``, ``toàn quốc``), a province name,
        ``ward, province`` (as `label` writes it; middle parts such as a former district are ignored)
        and ``province/ward``.
        """
        stripped = text.strip()
        if len(stripped) > MAX_REGION_TEXT:
            raise UnknownRegion(stripped)
        if stripped in self._by_id:
            return self._by_id[stripped]
        as_id = stripped.lower().replace(" ", "")
        if _ID_SHAPE.match(as_id):
            head, *codes = as_id.split("/")
            return self.require("/".join([head, *(str(int(code)) for code in codes)]))
        if self._is_country(stripped):
            return self._country
        if "," in stripped:
            parts = [part for part in stripped.split(",") if part.strip()]
        else:
            parts = [part for part in reversed(stripped.split("/")) if part.strip()]
        parts = [part for part in parts if not self._is_country(part)]
        if not parts:
            raise UnknownRegion(text)
        province = self.match_province(parts[-1])
        if len(parts) == 1:
            return province
        return self.match_ward(province.id, parts[0])

    def label(self, region_id: str) -> str:
        """A human name for a region: ``Phường Ba Đình, Thành phố Hà Nội``."""
        region = self.require(region_id)
        if region.kind == "ward" and region.parent_id is not None:
            return f"{region.name}, {self.require(region.parent_id).name}"
        return region.name

    def is_within(self, region_id: str, scope_id: str) -> bool:
        """Whether the scope is the region itself or one of its ancestors.

        Decided from the ids alone, so ids stored before a catalogue update still compare.
        """
        return region_id == scope_id or region_id.startswith(scope_id + "/")

    def _require_kind(self, region_id: str, kind: RegionKind) -> Region:
        region = self.require(region_id)
        if region.kind != kind:
            raise UnknownRegion(region_id)
        return region

    def _is_country(self, text: str) -> bool:
        key = _compact(fold(text))
        return key == _compact(self._names[self._country.id].full_fold) or (
            self._aliases.get(key) == self._country.id
        )

    def _match(
        self, candidates: Sequence[Region], query: _Query, *, use_aliases: bool, guess: bool = True
    ) -> Region:
        """The one candidate the query names, trying stricter readings first."""
        if not query.folded:
            raise UnknownRegion(query.text)

        def names(region: Region) -> _Names:
            return self._names[region.id]

        aliased = (
            {self._aliases[form] for form in query.compact if form in self._aliases} if use_aliases else set()
        )
        tiers: list[Callable[[Region], bool]] = [
            lambda r: names(r).full_light in query.light,
            lambda r: names(r).base_light in query.light,
            lambda r: names(r).full_fold in query.folded,
            lambda r: names(r).base_fold in query.folded,
            lambda r: r.id in aliased,
            lambda r: bool({_compact(names(r).full_fold), _compact(names(r).base_fold)} & query.compact),
        ]
        if guess:
            tiers.append(
                lambda r: any(names(r).base_fold.startswith(form) for form in query.folded if len(form) >= 2)
            )
        for tier in tiers:
            found = [region for region in candidates if tier(region)]
            if len(found) == 1:
                return found[0]
            if found:
                raise UnknownRegion(query.text, found[:MAX_SUGGESTIONS], ambiguous=True)
        raise UnknownRegion(query.text, self._close_names(candidates, query))

    def _close_names(self, candidates: Sequence[Region], query: _Query) -> list[Region]:
        """Up to MAX_SUGGESTIONS candidates whose folded names look like the query."""
        scored: list[tuple[float, Region]] = []
        matcher = difflib.SequenceMatcher(autojunk=False)
        for region in candidates:
            names = self._names[region.id]
            best = 0.0
            for key in {names.base_fold, names.full_fold}:
                matcher.set_seq2(key)
                for form in query.folded:
                    matcher.set_seq1(form)
                    if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
                        best = max(best, matcher.ratio())
            if best >= 0.6:
                scored.append((best, region))
        scored.sort(key=lambda item: -item[0])
        return [region for _, region in scored[:MAX_SUGGESTIONS]]

    @staticmethod
    def _search_rank(names: _Names, query: _Query) -> int | None:
        """0 for the name itself, 1 for a name starting with the text, 2 for a word of it, 3 for inside."""
        padded = " " + names.base_fold
        rank: int | None = None
        for form in query.folded:
            if form in (names.base_fold, names.full_fold):
                candidate = 0
            elif names.base_fold.startswith(form):
                candidate = 1
            elif " " + form in padded:
                candidate = 2
            elif len(form) >= 3 and (form in names.full_fold or _compact(form) in _compact(names.base_fold)):
                # Two letters occur inside too many names to help.
                candidate = 3
            else:
                continue
            rank = candidate if rank is None else min(rank, candidate)
        return rank


def _normalize_name(name: str) -> str:
    """An official name with stray whitespace removed (the source has a few double spaces)."""
    return " ".join(name.split())


def _vietnam_regions() -> Iterator[Region]:
    """Vietnam after the July 2025 rearrangement, from the `vietnam-provinces` package."""
    # Imported here: the package's code enums take most of a tenth of a second to import.
    from vietnam_provinces import Province, Ward

    yield Region(id=COUNTRY_ID, name=COUNTRY_NAME, kind="country", parent_id=None)
    for province in Province.iter_all():
        yield Region(
            id=f"{COUNTRY_ID}/{int(province.code)}",
            name=_normalize_name(province.name),
            kind="province",
            parent_id=COUNTRY_ID,
        )
    for ward in Ward.iter_all():
        province_id = f"{COUNTRY_ID}/{int(ward.province_code)}"
        yield Region(
            id=f"{province_id}/{int(ward.code)}",
            name=_normalize_name(ward.name),
            kind="ward",
            parent_id=province_id,
        )


@functools.cache
def load_catalogue() -> RegionCatalogue:
    """The catalogue of Vietnam, built once per process."""
    aliases = {alias: COUNTRY_ID + path for alias, path in _VIETNAM_ALIASES.items()}
    return RegionCatalogue(_vietnam_regions(), aliases=aliases)

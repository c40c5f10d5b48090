"""The region catalogue: Vietnam's 34 provinces and their wards, and how people's spellings find them."""

from __future__ import annotations

import pytest

from bot.regions import (
    Region,
    RegionCatalogue,
    UnknownRegion,
    collation_key,
    fold,
    load_catalogue,
)

HANOI = "vn/1"
HCMC = "vn/79"
BA_DINH = "vn/1/4"
TAY_NINH = "vn/80"
TAN_THANH = "vn/80/25534"  # Xã Tân Thành
TAN_THANH_DOT = "vn/80/27826"  # Xã Tân Thạnh: folds to the same letters


@pytest.fixture(scope="module")
def catalogue() -> RegionCatalogue:
    return load_catalogue()


def names(regions: list[Region]) -> list[str]:
    return [region.name for region in regions]


# --- shape of the catalogue ---


def test_vietnam_has_34_provinces_under_the_country(catalogue: RegionCatalogue) -> None:
    provinces = catalogue.provinces()
    assert len(provinces) == 34
    assert {p.kind for p in provinces} == {"province"}
    assert {p.parent_id for p in provinces} == {"vn"}
    assert "Thành phố Hà Nội" in names(provinces)
    assert "Thành phố Hồ Chí Minh" in names(provinces)


def test_every_province_has_wards_and_every_ward_sits_in_a_province(catalogue: RegionCatalogue) -> None:
    wards = [region for region in catalogue if region.kind == "ward"]
    assert len(wards) == 3321
    for province in catalogue.provinces():
        assert catalogue.wards(province.id), province.name
    assert all(catalogue.require(w.parent_id or "").kind == "province" for w in wards)
    assert len(catalogue) == 1 + 34 + 3321


def test_every_id_round_trips_through_get(catalogue: RegionCatalogue) -> None:
    for region in catalogue:
        assert catalogue.get(region.id) == region
        assert catalogue.require(region.id) == region
    assert catalogue.get("vn/1/999999") is None
    assert catalogue.get("vn/01") is None  # ids are not zero padded


def test_ids_are_paths_of_official_codes(catalogue: RegionCatalogue) -> None:
    ba_dinh = catalogue.require(BA_DINH)
    assert ba_dinh.name == "Phường Ba Đình"
    assert ba_dinh.kind == "ward"
    assert ba_dinh.parent_id == HANOI
    assert ba_dinh.path == ("vn", "vn/1", "vn/1/4")
    assert catalogue.require(HANOI).path == ("vn", "vn/1")
    assert catalogue.country().path == ("vn",)
    assert catalogue.country().name == "Việt Nam"


def test_names_have_no_stray_whitespace(catalogue: RegionCatalogue) -> None:
    # The source spells one ward "Phường  Thành Nhất".
    assert catalogue.require("vn/66/24154").name == "Phường Thành Nhất"
    assert all(region.name == " ".join(region.name.split()) for region in catalogue)


def test_require_names_the_missing_id(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.require("vn/1/999999")
    assert caught.value.query == "vn/1/999999"
    assert caught.value.suggestions == []


def test_children_walk_down_the_tree(catalogue: RegionCatalogue) -> None:
    assert catalogue.children("vn") == catalogue.provinces()
    assert catalogue.children(HANOI) == catalogue.wards(HANOI)
    assert catalogue.children(BA_DINH) == []
    with pytest.raises(UnknownRegion):
        catalogue.children("vn/2")


def test_wards_need_a_province(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion):
        catalogue.wards(BA_DINH)
    with pytest.raises(UnknownRegion):
        catalogue.wards("vn")


def test_load_catalogue_builds_once() -> None:
    assert load_catalogue() is load_catalogue()


# --- ordering ---


def test_provinces_are_in_vietnamese_alphabetical_order_ignoring_the_city_prefix(
    catalogue: RegionCatalogue,
) -> None:
    order = names(catalogue.provinces())
    assert order[0] == "An Giang"
    assert order[-1] == "Vĩnh Long"
    # "Thành phố Hà Nội" files under H, word by word: Hà Nội, Hà Tĩnh, Hải Phòng.
    assert order.index("Gia Lai") < order.index("Thành phố Hà Nội") < order.index("Hà Tĩnh")
    assert order.index("Hà Tĩnh") < order.index("Thành phố Hải Phòng") < order.index("Thành phố Hồ Chí Minh")
    assert order.index("Cà Mau") < order.index("Cao Bằng")


def test_wards_put_d_with_stroke_after_d(catalogue: RegionCatalogue) -> None:
    order = names(catalogue.wards(HANOI))
    assert order.index("Phường Dương Nội") < order.index("Xã Đa Phúc") < order.index("Phường Đại Mỗ")
    assert order.index("Phường Ba Đình") < order.index("Xã Ba Vì") < order.index("Phường Bạch Mai")


def test_collation_orders_letters_then_tones() -> None:
    words = ["Đa", "Dương", "Ăn", "An", "Bà", "Ba", "Bá", "Bạ", "Bả", "Bã"]
    assert sorted(words, key=collation_key) == ["An", "Ăn", "Ba", "Bà", "Bả", "Bã", "Bá", "Bạ", "Dương", "Đa"]


# --- folding ---


def test_fold_strips_diacritics_case_and_punctuation() -> None:
    assert fold("  Đặc khu  Côn Đảo ") == "dac khu con dao"
    assert fold("HÀ NỘI") == "ha noi"
    assert fold("Văn Miếu - Quốc Tử Giám") == "van mieu quoc tu giam"
    assert fold("Xã M’Drắk") == "xa m drak"
    # Both placements of the tone mark in "hoá"/"hóa" are in the source.
    assert fold("Chiêm Hoá") == fold("Chiêm Hóa") == "chiem hoa"
    assert fold("Thành phố Hà Nội") == "thanh pho ha noi"  # type words stay: fold is pure


# --- provinces from what people type ---


@pytest.mark.parametrize(
    "text",
    [
        "ha noi",
        "HÀ NỘI",
        "Hà Nội",
        "Thanh pho Ha Noi",
        "Thành phố Hà Nội",
        "tp. Hà Nội",
        "Hanoi",
        "HN",
        " ha  noi ",
    ],
)
def test_hanoi_from_the_ways_people_write_it(catalogue: RegionCatalogue, text: str) -> None:
    assert catalogue.match_province(text).id == HANOI


@pytest.mark.parametrize(
    "text",
    ["ho chi minh", "Hồ Chí Minh", "TP HCM", "tp.hcm", "TPHCM", "Ho Chi Minh City", "Sài Gòn", "saigon"],
)
def test_ho_chi_minh_city_from_the_ways_people_write_it(catalogue: RegionCatalogue, text: str) -> None:
    assert catalogue.match_province(text).id == HCMC


def test_a_province_of_type_tinh_with_or_without_the_word(catalogue: RegionCatalogue) -> None:
    assert catalogue.match_province("Tỉnh Cao Bằng").name == "Cao Bằng"
    assert catalogue.match_province("cao bang").name == "Cao Bằng"
    assert catalogue.match_province("dak lak").name == "Đắk Lắk"


def test_a_unique_start_of_a_name_is_enough(catalogue: RegionCatalogue) -> None:
    assert catalogue.match_province("ho chi").id == HCMC


def test_a_misspelt_province_suggests_close_names(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.match_province("Ha Nol")
    assert caught.value.query == "Ha Nol"
    assert not caught.value.ambiguous
    assert "Thành phố Hà Nội" in names(caught.value.suggestions)
    assert len(caught.value.suggestions) <= 5


def test_nonsense_suggests_nothing(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.match_province("qwxyz")
    assert caught.value.suggestions == []
    with pytest.raises(UnknownRegion):
        catalogue.match_province("  ")


def test_a_shared_start_is_ambiguous_and_lists_the_candidates(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.match_province("quang")
    assert caught.value.ambiguous
    assert names(caught.value.suggestions) == ["Quảng Ngãi", "Quảng Ninh", "Quảng Trị"]


# --- wards from what people type ---


@pytest.mark.parametrize(
    "text", ["ba dinh", "Ba Đình", "BA ĐÌNH", "Phường Ba Đình", "phuong ba dinh", "P. Ba Đình"]
)
def test_ba_dinh_in_hanoi(catalogue: RegionCatalogue, text: str) -> None:
    assert catalogue.match_ward(HANOI, text).id == BA_DINH


def test_ward_names_with_punctuation(catalogue: RegionCatalogue) -> None:
    assert catalogue.match_ward(HANOI, "van mieu quoc tu giam").name == "Phường Văn Miếu - Quốc Tử Giám"
    assert catalogue.match_ward("vn/66", "m'drak").name == "Xã M’Drắk"
    assert catalogue.match_ward("vn/66", "mdrak").name == "Xã M’Drắk"


def test_a_ward_whose_name_starts_like_a_type_word(catalogue: RegionCatalogue) -> None:
    # "Xã Xa Dung": the first "xa" is the type, the second is the name.
    assert catalogue.match_ward("vn/11", "xa dung").name == "Xã Xa Dung"
    assert catalogue.match_ward("vn/11", "Xã Xa Dung").name == "Xã Xa Dung"


def test_a_ward_is_only_found_in_its_own_province(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion):
        catalogue.match_ward(HCMC, "ba dinh")


def test_names_that_differ_only_in_diacritics_are_ambiguous_without_them(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.match_ward(TAY_NINH, "tan thanh")
    assert caught.value.ambiguous
    assert {region.id for region in caught.value.suggestions} == {TAN_THANH, TAN_THANH_DOT}
    assert catalogue.match_ward(TAY_NINH, "Tân Thành").id == TAN_THANH
    assert catalogue.match_ward(TAY_NINH, "Xã Tân Thạnh").id == TAN_THANH_DOT


def test_a_misspelt_ward_suggests_close_names(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.match_ward(HANOI, "ba dimh")
    assert not caught.value.ambiguous
    assert caught.value.suggestions[0].id == BA_DINH


def test_match_ward_needs_a_known_province(catalogue: RegionCatalogue) -> None:
    with pytest.raises(UnknownRegion) as caught:
        catalogue.match_ward("vn/2", "ba dinh")
    assert caught.value.query == "vn/2"


# --- search box ---


def test_search_puts_names_starting_with_the_text_first(catalogue: RegionCatalogue) -> None:
    found = names(catalogue.search_wards(HANOI, "ha", limit=20))
    # Names starting with "ha", then names with a word starting with it, each group alphabetical.
    assert found == [
        "Xã Hạ Bằng",
        "Phường Hà Đông",
        "Phường Hai Bà Trưng",
        "Xã Hát Môn",
        "Phường Hồng Hà",
        "Phường Ngọc Hà",
        "Xã Suối Hai",
    ]


def test_search_finds_a_word_inside_a_name(catalogue: RegionCatalogue) -> None:
    found = names(catalogue.search_wards(HANOI, "dinh"))
    assert found[0] == "Phường Định Công"
    assert {"Phường Ba Đình", "Phường Khương Đình", "Xã Vân Đình"} <= set(found)


def test_search_ignores_accents_and_case(catalogue: RegionCatalogue) -> None:
    assert catalogue.search_wards(HANOI, "ĐÌNH") == catalogue.search_wards(HANOI, "dinh")
    assert names(catalogue.search_wards(HANOI, "badinh")) == ["Phường Ba Đình"]


def test_search_respects_the_limit_and_empty_text(catalogue: RegionCatalogue) -> None:
    assert len(catalogue.search_wards(HCMC, "tan", limit=3)) == 3
    assert len(catalogue.search_wards(HCMC, "tan")) == 8  # the default limit
    assert catalogue.search_wards(HANOI, "   ") == []
    assert catalogue.search_wards(HANOI, "ha", limit=0) == []
    assert catalogue.search_wards(HANOI, "qqq") == []


# --- scope ---


def test_is_within_an_ancestor_or_itself(catalogue: RegionCatalogue) -> None:
    assert catalogue.is_within(BA_DINH, BA_DINH)
    assert catalogue.is_within(BA_DINH, HANOI)
    assert catalogue.is_within(BA_DINH, "vn")
    assert catalogue.is_within(HANOI, "vn")
    assert not catalogue.is_within(HANOI, BA_DINH)
    assert not catalogue.is_within(BA_DINH, HCMC)
    # "vn/1" is a prefix of "vn/11/..." as text, not as a path.
    assert not catalogue.is_within("vn/11/3208", HANOI)


# --- resolve and label ---


def test_label_names_the_ward_and_its_province(catalogue: RegionCatalogue) -> None:
    assert catalogue.label(BA_DINH) == "Phường Ba Đình, Thành phố Hà Nội"
    assert catalogue.label(HANOI) == "Thành phố Hà Nội"
    assert catalogue.label("vn") == "Việt Nam"
    with pytest.raises(UnknownRegion):
        catalogue.label("vn/1/999999")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vn/1/4", BA_DINH),
        ("VN/01/00004", BA_DINH),
        ("vn/1", HANOI),
        ("vn", "vn"),
        ("Việt Nam", "vn"),
        ("viet nam", "vn"),
        ("toan quoc", "vn"),
        ("Toàn quốc", "vn"),
        ("ha noi", HANOI),
        ("TP HCM", HCMC),
        ("Ba Đình, Hà Nội", BA_DINH),
        ("phuong ba dinh, thanh pho ha noi", BA_DINH),
        ("Phường Ba Đình, Thành phố Hà Nội, Việt Nam", BA_DINH),
        ("Hà Nội/Ba Đình", BA_DINH),
        ("vn/ha noi/ba dinh", BA_DINH),
        ("Hà Nội, Việt Nam", HANOI),
    ],
)
def test_resolve_accepts_each_form(catalogue: RegionCatalogue, text: str, expected: str) -> None:
    assert catalogue.resolve(text).id == expected


def test_resolve_rejects_unknown_ids_and_names(catalogue: RegionCatalogue) -> None:
    for text in ["vn/2", "vn/1/999999", "", "Ba Đình, Atlantis", "Hà Nội/Atlantis"]:
        with pytest.raises(UnknownRegion):
            catalogue.resolve(text)


def test_every_label_resolves_back_to_its_region(catalogue: RegionCatalogue) -> None:
    for region in catalogue:
        assert catalogue.resolve(catalogue.label(region.id)) == region
        assert catalogue.resolve(region.id) == region


# --- a catalogue of one's own ---


def small_catalogue() -> RegionCatalogue:
    return RegionCatalogue(
        [
            Region(id="xx", name="Xứ Sở", kind="country", parent_id=None),
            Region(id="xx/7", name="Tỉnh Bảy", kind="province", parent_id="xx"),
            Region(id="xx/7/70", name="Xã Bảy Mươi", kind="ward", parent_id="xx/7"),
            Region(id="xx/7/71", name="Phường Sông", kind="ward", parent_id="xx/7"),
            Region(id="xx/7/72", name="Xã Sông", kind="ward", parent_id="xx/7"),
        ],
        aliases={"b7": "xx/7"},
    )


def test_a_custom_catalogue_answers_like_the_real_one() -> None:
    small = small_catalogue()
    assert small.country().id == "xx"
    assert small.match_province("bay").id == "xx/7"
    assert small.match_province("B7").id == "xx/7"
    assert small.resolve("bay muoi, bay").id == "xx/7/70"
    assert small.label("xx/7/70") == "Xã Bảy Mươi, Tỉnh Bảy"


def test_the_type_word_tells_a_ward_from_a_commune_of_the_same_name() -> None:
    small = small_catalogue()
    assert small.match_ward("xx/7", "Xã Sông").id == "xx/7/72"
    assert small.match_ward("xx/7", "phuong song").id == "xx/7/71"
    with pytest.raises(UnknownRegion) as caught:
        small.match_ward("xx/7", "Sông")
    assert caught.value.ambiguous
    assert names(caught.value.suggestions) == ["Phường Sông", "Xã Sông"]


def test_a_custom_catalogue_rejects_broken_trees() -> None:
    country = Region(id="xx", name="Xứ Sở", kind="country", parent_id=None)
    with pytest.raises(ValueError, match="does not sit under"):
        RegionCatalogue([country, Region(id="xx/7/70", name="Xã", kind="ward", parent_id="xx/7")])
    with pytest.raises(ValueError, match="does not sit under"):
        RegionCatalogue([country, Region(id="yy/7", name="Tỉnh", kind="province", parent_id="xx")])
    with pytest.raises(ValueError, match="exactly one root"):
        RegionCatalogue([Region(id="xx/7", name="Tỉnh", kind="province", parent_id=None)])
    with pytest.raises(ValueError, match="duplicate"):
        RegionCatalogue([country, country])
    with pytest.raises(ValueError, match="unknown region"):
        RegionCatalogue([country], aliases={"zz": "xx/9"})

"""The text pipeline: width, case and script folding, segmentation, query parsing."""

from qinglan.search.text import highlight_spans, index_text, parse_query, pinyin_spans, pinyin_tokens


def tokens(text):
    return set(index_text(text).split())


def test_two_character_words_are_found_inside_longer_text():
    found = tokens("我們今天和青藍科技簽訂了合同，客戶很滿意")
    assert "合同" in found
    assert "客戶" in found


def test_simplified_and_traditional_give_the_same_tokens():
    assert tokens("客户关系管理") == tokens("客戶關係管理")
    assert "客戶" in tokens("客户")


def test_full_width_and_case_are_folded():
    assert tokens("Ｑｉｎｇｌａｎ") == tokens("qinglan") == {"qinglan"}


def test_latin_words_are_stemmed():
    assert "compani" in tokens("Companies")
    # Both stem to compani; a Latin word also matches itself unstemmed (it may be pinyin).
    assert parse_query("companies").include[0].parts[0] == parse_query("company").include[0].parts[0]
    assert parse_query("companies").include[0].parts[1].tokens == ("companies",)
    assert parse_query("zsgs").include[0].tokens == ("zsgs",)


def test_jieba_words_come_from_the_simplified_form():
    # jieba's dictionary is Simplified: 共和國 is a word only when segmented as 共和国.
    assert "共和國" in tokens("中華人民共和國")


def test_query_syntax():
    query = parse_query('合同 "青藍 科技" -草稿 type:customer')
    kinds = [term.kind for term in query.include]
    assert kinds == ["token", "phrase"]
    assert query.include[1].tokens == ("青", "藍", "科", "技")
    assert query.exclude[0].tokens == ("草", "稿")
    assert query.types == ["customer"]


def test_hostile_text_gives_only_letter_and_digit_tokens():
    query = parse_query('NEAR(a b) "x" * ( ) : ^ \'; DROP TABLE users; -- ' + "長" * 500)
    for term in query.include + query.exclude:
        for token in term.tokens or [t for part in term.parts for t in part.tokens]:
            assert token.isalnum()
    assert parse_query("*** ::: ^^^ ((( ").empty
    assert len(parse_query("字" * 1000).text) == 200


def test_highlight_spans_map_folded_matches_back():
    assert highlight_spans("Ｑｉｎｇｌａｎ 青蓝客户", ["qinglan", "客戶"]) == [(0, 7), (10, 12)]


def test_pinyin_of_names():
    assert pinyin_tokens("中山公司") == ["zsgs", "zhongshangongsi", "zs", "zhongshan", "gs", "gongsi", "zsg"]
    assert "twjm" in pinyin_tokens("台灣精密機械股份有限公司")  # 精密機械 is one word: initials up to any character
    # Words are read from the phrase dictionary on the Simplified form: 銀行 is yínháng, not yínxíng.
    assert {"cqyh", "chongqingyinhang", "yinhang"} <= set(pinyin_tokens("重慶銀行"))
    # A surname read differently from its common reading: both.
    assert {"cengxiaoming", "zengxiaoming", "cxm", "zxm"} <= set(pinyin_tokens("曾小明"))
    assert pinyin_tokens("ABC Trading") == []
    assert pinyin_tokens("王") == ["wang"]


def test_pinyin_spans_in_titles():
    assert pinyin_spans("中山公司", ["zs"]) == [(0, 2)]
    assert pinyin_spans("北京中山公司", ["zhongshangongsi"]) == [(2, 6)]
    assert pinyin_spans("中山公司", ["xyz"]) == []

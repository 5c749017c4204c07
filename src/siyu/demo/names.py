"""Pools of Chinese names, nicknames, places and products the demo brand draws from."""

from __future__ import annotations

import numpy as np

BRAND = "贝禾母婴"

# Common surnames with pinyin and a rough frequency weight (percent of the population).
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.2),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.3), ("孙", "sun", 1.2),
    ("马", "ma", 1.1), ("朱", "zhu", 1.1), ("胡", "hu", 1.0), ("郭", "guo", 1.0),
    ("何", "he", 0.9), ("林", "lin", 0.9), ("高", "gao", 0.9), ("罗", "luo", 0.8),
    ("郑", "zheng", 0.8), ("梁", "liang", 0.7), ("谢", "xie", 0.6), ("宋", "song", 0.6),
    ("唐", "tang", 0.6), ("许", "xu", 0.5), ("韩", "han", 0.5), ("邓", "deng", 0.5),
    ("冯", "feng", 0.5), ("曹", "cao", 0.5), ("彭", "peng", 0.5), ("曾", "zeng", 0.4),
    ("肖", "xiao", 0.4), ("田", "tian", 0.4), ("董", "dong", 0.4), ("潘", "pan", 0.4),
    ("袁", "yuan", 0.4), ("蔡", "cai", 0.3), ("蒋", "jiang", 0.3), ("余", "yu", 0.3),
    ("于", "yu", 0.3), ("杜", "du", 0.3), ("叶", "ye", 0.3), ("程", "cheng", 0.3),
    ("魏", "wei", 0.3), ("苏", "su", 0.3), ("吕", "lv", 0.3), ("丁", "ding", 0.3),
    ("任", "ren", 0.3), ("沈", "shen", 0.3), ("姚", "yao", 0.3), ("卢", "lu", 0.3),
    ("姜", "jiang", 0.2), ("崔", "cui", 0.2), ("钟", "zhong", 0.2), ("谭", "tan", 0.2),
    ("陆", "lu", 0.2), ("范", "fan", 0.2), ("汪", "wang", 0.2), ("廖", "liao", 0.2),
    ("石", "shi", 0.2), ("金", "jin", 0.2), ("贾", "jia", 0.2), ("夏", "xia", 0.2),
    ("方", "fang", 0.2), ("欧阳", "ouyang", 0.05), ("上官", "shangguan", 0.02),
)  # fmt: skip

# Given-name characters with pinyin: (female-leaning, male-leaning).
GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("静", "jing"), ("丽", "li"), ("敏", "min"), ("燕", "yan"), ("艳", "yan"), ("娟", "juan"),
    ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("晶", "jing"), ("颖", "ying"),
    ("倩", "qian"), ("慧", "hui"), ("佳", "jia"), ("欣", "xin"), ("悦", "yue"), ("萌", "meng"),
    ("瑶", "yao"), ("璐", "lu"), ("薇", "wei"), ("蕾", "lei"), ("露", "lu"), ("娜", "na"),
    ("莉", "li"), ("芳", "fang"), ("玲", "ling"), ("媛", "yuan"), ("雯", "wen"), ("梦", "meng"),
    ("思", "si"), ("雨", "yu"), ("诗", "shi"), ("晓", "xiao"), ("琪", "qi"), ("一", "yi"),
    ("可", "ke"), ("心", "xin"), ("月", "yue"), ("彤", "tong"), ("妍", "yan"), ("楠", "nan"),
)  # fmt: skip
GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("鹏", "peng"), ("浩", "hao"), ("宇", "yu"),
    ("峰", "feng"), ("斌", "bin"), ("俊", "jun"), ("博", "bo"), ("帆", "fan"), ("凯", "kai"),
    ("晨", "chen"), ("阳", "yang"), ("文", "wen"), ("志", "zhi"), ("建", "jian"), ("国", "guo"),
)  # fmt: skip

NICKNAMES: tuple[str, ...] = (
    "小鱼儿", "糖糖妈妈", "安安麻麻", "豆豆妈", "Lily", "晴天", "Cici", "阳光总在风雨后",
    "一一", "橙子", "Amy", "小太阳", "momo", "暖暖", "向日葵", "快乐每一天", "Grace",
    "淡淡的茶香", "花开半夏", "乐乐妈", "果果🍎", "Sunny", "宝宝的小棉袄", "简单就好",
    "Yoyo", "木子", "小米粒", "二宝妈", "知足常乐", "Vivian", "岁月静好", "丸子",
    "Jenny", "悠悠", "天天向上", "朵朵妈咪", "Tina", "芒果🥭", "静待花开", "小熊",
    "ღ柠檬ღ", "囡囡", "Coco", "时光", "叶子", "阿狸", "甜甜圈", "Hello Kitty", "☀️晴",
)  # fmt: skip
BABY_PET_NAMES: tuple[str, ...] = (
    "豆豆", "乐乐", "果果", "糖糖", "安安", "朵朵", "团团", "圆圆", "可可", "小宝",
    "贝贝", "妞妞", "多多", "米粒", "球球", "嘟嘟", "壮壮", "甜甜", "悠悠", "皮皮",
)  # fmt: skip

# (region code, region name, [(city, city code, [mall names])]) — the stores of the brand.
REGIONS: tuple[tuple[str, str, tuple[tuple[str, str, tuple[str, ...]], ...]], ...] = (
    ("east", "华东大区", (
        ("上海", "sh", ("静安嘉里中心", "徐汇日月光", "浦东正大广场", "闵行万象城")),
        ("杭州", "hz", ("西湖银泰", "滨江龙湖天街")),
        ("南京", "nj", ("新街口德基",)),
        ("苏州", "su", ("园区印象城",)),
    )),
    ("south", "华南大区", (
        ("广州", "gz", ("天河正佳", "番禺万达")),
        ("深圳", "sz", ("南山海岸城", "福田COCO Park", "宝安壹方城")),
        ("厦门", "xm", ("SM城市广场",)),
        ("佛山", "fs", ("千灯湖环宇城",)),
        ("东莞", "dg", ("松山湖万象汇",)),
    )),
    ("north", "华北大区", (
        ("北京", "bj", ("朝阳大悦城", "海淀五彩城", "通州万达", "望京凯德Mall")),
        ("天津", "tj", ("滨江道", "梅江会展")),
        ("济南", "jn", ("恒隆广场",)),
        ("石家庄", "sjz", ("万象城",)),
    )),
)  # fmt: skip
EXTRA_MALLS: tuple[str, ...] = (
    "万达广场",
    "吾悦广场",
    "龙湖天街",
    "印象城",
    "大悦城",
    "银泰城",
    "爱琴海",
    "宝龙广场",
)
OTHER_CITIES: tuple[str, ...] = (
    "无锡",
    "宁波",
    "合肥",
    "长沙",
    "武汉",
    "成都",
    "重庆",
    "郑州",
    "青岛",
    "大连",
    "昆明",
    "南宁",
)

# Product catalogue: (sku, name, category, list price in yuan, weight).
PRODUCTS: tuple[tuple[str, str, str, int, float], ...] = (
    ("MLK-A2-1", "贝禾A2婴儿配方奶粉1段 800g", "奶粉", 368, 5.0),
    ("MLK-A2-2", "贝禾A2较大婴儿配方奶粉2段 800g", "奶粉", 358, 5.0),
    ("MLK-A2-3", "贝禾A2幼儿配方奶粉3段 800g", "奶粉", 328, 6.0),
    ("MLK-GT-3", "羊奶粉3段 800g", "奶粉", 398, 2.0),
    ("MLK-HA-1", "适度水解奶粉1段 400g", "奶粉", 268, 1.2),
    ("DPR-S", "云柔纸尿裤S码 62片", "纸尿裤", 129, 2.0),
    ("DPR-M", "云柔纸尿裤M码 54片", "纸尿裤", 129, 3.0),
    ("DPR-L", "云柔纸尿裤L码 46片", "纸尿裤", 129, 3.5),
    ("DPR-XL", "云柔拉拉裤XL码 38片", "纸尿裤", 139, 3.0),
    ("DPR-NIGHT", "夜用安睡裤XXL 28片", "纸尿裤", 119, 1.0),
    ("WIP-80", "婴儿手口湿巾 80抽×6包", "湿巾", 59, 4.0),
    ("WIP-COT", "棉柔巾 100抽×6包", "湿巾", 49, 3.0),
    ("FOD-RICE", "有机高铁米粉 225g", "辅食", 69, 2.5),
    ("FOD-NOOD", "宝宝营养面条 300g", "辅食", 32, 2.0),
    ("FOD-PUREE", "果泥组合装 10袋", "辅食", 89, 2.0),
    ("FOD-SNACK", "冻干溶豆 4盒", "辅食", 58, 2.5),
    ("CAR-WASH", "婴儿洗发沐浴二合一 400ml", "洗护", 79, 2.0),
    ("CAR-CREAM", "婴儿润肤霜 50g", "洗护", 98, 1.8),
    ("CAR-BUTT", "护臀膏 30g", "洗护", 55, 1.5),
    ("CAR-LAUND", "婴儿洗衣液 1L×2", "洗护", 69, 1.5),
    ("NUT-D3", "维生素D3滴剂 60粒", "营养品", 128, 1.5),
    ("NUT-DHA", "藻油DHA 30粒", "营养品", 198, 1.2),
    ("NUT-PRO", "益生菌冲剂 30袋", "营养品", 238, 1.0),
    ("TOY-BLOCK", "大颗粒积木桶", "玩具", 159, 0.8),
    ("TOY-BOOK", "婴儿布书套装", "玩具", 79, 0.8),
    ("TOY-BATH", "洗澡戏水玩具", "玩具", 49, 0.6),
    ("CLO-ROMP", "纯棉连体衣 2件装", "童装", 139, 1.0),
    ("CLO-SLEEP", "婴儿睡袋 四季款", "童装", 199, 0.6),
    ("GEAR-BOTTLE", "宽口径PPSU奶瓶 240ml", "喂养用品", 139, 1.0),
    ("GEAR-NIPPLE", "奶嘴 2只装", "喂养用品", 59, 1.0),
)  # fmt: skip

MOBILE_PREFIXES = np.array(
    [134, 135, 136, 137, 138, 139, 150, 151, 152, 157, 158, 159, 182, 183, 187, 188,
     130, 131, 132, 155, 156, 185, 186, 176, 133, 153, 180, 181, 189, 177, 199, 198],
    dtype=np.int64,
)  # fmt: skip

_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)


def random_tokens(rng: np.random.Generator, n: int, length: int, prefix: str) -> list[str]:
    """n random WeChat-style ids (prefix + url-safe base64 characters), vectorised."""
    if n == 0:
        return []
    raw = _ALPHABET[rng.integers(0, 64, size=(n, length))].tobytes().decode("ascii")
    return [prefix + raw[i * length : (i + 1) * length] for i in range(n)]


def permuted(index: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection of index onto [0, modulus) that looks random: distinct in, distinct out."""
    # An odd multiplier coprime with 10^k makes a*x+b (mod 10^k) a permutation.
    multiplier = 7_919_117  # prime, coprime with 2 and 5
    return (index.astype(np.int64) * multiplier + salt) % modulus


def phones(index: np.ndarray, rng: np.random.Generator, salt: int) -> list[str]:
    """Unique E.164 mobile numbers, one per index (the 8-digit tail is a bijection of index)."""
    tails = permuted(index, 100_000_000, salt)
    prefixes = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), size=len(index))]
    return [f"+86{p}{t:08d}" for p, t in zip(prefixes.tolist(), tails.tolist(), strict=True)]


def person_names(
    rng: np.random.Generator, n: int, female_share: float
) -> tuple[list[str], list[str], np.ndarray]:
    """n names (surname + 1-2 given characters), their pinyin and a female flag."""
    weights = np.array([s[2] for s in SURNAMES])
    surname_idx = rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())
    female = rng.random(n) < female_share
    two_chars = rng.random(n) < 0.62
    fem_a = rng.integers(0, len(GIVEN_FEMALE), size=n)
    fem_b = rng.integers(0, len(GIVEN_FEMALE), size=n)
    mal_a = rng.integers(0, len(GIVEN_MALE), size=n)
    mal_b = rng.integers(0, len(GIVEN_MALE), size=n)
    names: list[str] = []
    pinyins: list[str] = []
    for i in range(n):
        surname, s_py, _ = SURNAMES[surname_idx[i]]
        pool, a, b = (GIVEN_FEMALE, fem_a[i], fem_b[i]) if female[i] else (GIVEN_MALE, mal_a[i], mal_b[i])
        given, g_py = pool[a]
        if two_chars[i] and b != a:
            given += pool[b][0]
            g_py += pool[b][1]
        names.append(surname + given)
        pinyins.append(s_py + g_py)
    return names, pinyins, female

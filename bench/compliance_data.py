"""Generated inputs for the compliance benchmark: realistic Chinese keyword lists and 40-character chats."""

from __future__ import annotations

import random

# Frequent characters of service chat and of the vocabulary keyword lists are made of.
_COMMON = (
    "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对"
    "小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动"
    "方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感见明问力理尔点文几定"
    "本公特做外孩相西果走将月十实向声车全信重三机工物气每并别真打太新比才便夫再书部水像眼等体却加电主界门"
)
_SHOP = "店铺商品订单发货快递退换货尺码颜色优惠券会员积分活动包邮客服售后质量面料款式库存预售链接价格"
_PREFIXES = ("加", "私下", "走", "转", "去", "找", "换", "保", "包", "稳", "不走", "私聊", "直接")


def keywords(n: int, seed: int = 7) -> list[str]:
    """n distinct keywords of 3–6 Chinese characters, a fifth of them a verb prefix real lists use + 2."""
    rng = random.Random(seed)
    pool = _COMMON + _SHOP
    out: set[str] = set()
    while len(out) < n:
        size = rng.choice((3, 3, 4, 4, 4, 5, 6))
        word = "".join(rng.choice(pool) for _ in range(size))
        if rng.random() < 0.2:
            word = rng.choice(_PREFIXES) + word[:2]
        out.add(word)
    return sorted(out)


_CLEAN = (
    "亲，您的订单已经发货了，快递单号稍后发您，请注意查收哦",
    "您好，这款面料是纯棉的，尺码偏大一码，建议您选小一号",
    "会员积分可以在下单时抵扣，每一百积分抵一元，活动到月底",
    "收到您的反馈了，售后同事会在二十四小时内联系您处理退换",
    "今天店铺有满三百减五十的优惠券，您可以在首页领取后使用",
    "这款目前库存充足，颜色有黑白灰三种，支持七天无理由退货",
    "好的，已经帮您备注了，周末送货上门，有问题随时找我哦谢谢",
    "您可以用微信支付或者支付宝付款，都是走公司账户的，放心吧",
)
_VIOLATIONS = (
    "这单你别在店里拍了，加微信我私下给你便宜二十块，走我个人",
    "亲你去别家买吧，我朋友店里更便宜，换个店下单能省不少钱的",
    "这个产品保本稳赚，吃了包治百病，无效退款，百分百有效的哦",
    "你是不是傻逼啊，听不懂人话吗，滚，神经病一样烦死了真是的",
    "加ღ✿✿微ღ✿✿信聊，一三八一二三四五六七八，转我个人账户就行",
    "我的V信是abc12345，扫码转账给我，不走公司，价格好商量的",
)


def messages(n: int, violation_share: float = 0.1, seed: int = 11) -> list[str]:
    """n messages of about 40 characters: clean service chat with a share of violations and evasions."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        base = rng.choice(_VIOLATIONS if rng.random() < violation_share else _CLEAN)
        # A random cut and a few random characters so the automaton sees varied text, not 14 strings.
        cut = rng.randrange(0, 8)
        noise = "".join(rng.choice(_COMMON) for _ in range(cut))
        tail = "".join(rng.choice(_COMMON) for _ in range(40))
        out.append((base[cut:] + noise + tail)[:40])
    return out

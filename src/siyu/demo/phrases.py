"""What people say in the demo chats: customer questions, guide replies, group posts, and violations."""

from __future__ import annotations

import random

# Customer question topics and the guide's replies to each (paired by position).
QUESTIONS: tuple[tuple[str, ...], ...] = (
    ("{product}还有货吗？", "{store}那边{product}有现货吗", "{product}补货了没呀", "请问{product}还有吗，想要{n}个"),
    ("最近有什么活动吗", "{product}现在多少钱？", "会员价是多少呀", "优惠券怎么用啊，下单没抵扣", "能便宜点吗"),
    ("我的订单发货了吗", "怎么还没到啊", "快递到哪了？等好几天了", "可以改地址吗，寄到我妈家"),
    ("宝宝{months}个月了，该换几段奶粉？", "{product}和进口的哪个好", "宝宝红屁屁用什么好", "纸尿裤M码还是L码合适？宝宝{n}斤", "宝宝便秘怎么办，三天没拉了", "宝宝转奶拉肚子正常吗"),
    ("我的积分有多少", "积分能换什么？", "会员生日有礼物吗", "银卡怎么升金卡"),
    ("店里几点关门", "周末有活动吗", "可以预约宝宝游泳吗", "停车方便吗"),
    ("买的奶粉罐子是瘪的", "上次买的湿巾有股味道", "怎么回事啊 等了一个星期了还没发", "客服一直不回，只能找你了"),
)  # fmt: skip
REPLIES: tuple[tuple[str, ...], ...] = (
    ("有的{name}，今天刚到一批，给您留着？", "{name}，门店现在还有{n}罐，要的话我先帮您锁定", "这款暂时断货了，预计下周到，到了第一时间通知您", "有货的，小程序下单今天就能发"),
    ("{name}，现在{campaign}，{product}第二件半价", "会员价{price}元，用券还能再减", "小程序首页领券，下单自动抵扣，我把入口发您", "已经是最低价了{name}，我再帮您申请个赠品"),
    ("帮您查了，已经发出了，预计明天到", "今天下午发，单号稍后发您", "抱歉让您久等了，我马上催一下仓库", "可以改的，我帮您备注一下新地址"),
    ("{months}个月可以准备转2段了，转奶要循序渐进，新旧混着喝一周", "两款都不错，我们这款是A2奶源，宝宝好吸收", "勤换尿裤保持干爽，可以试试护臀膏", "体重{n}斤的话建议L码，不勒腿", "多喝水，辅食可以加点西梅泥，持续不拉的话要看医生哦", "转奶初期便便稀一点正常，超过三天要注意"),
    ("您现在有{points}积分，可以换湿巾或者抵现", "积分可以在小程序积分商城兑换，也能到店抵现", "生日当月到店有专属礼包哦", "近一年消费满5000就自动升金卡啦"),
    ("我们营业到晚上9点半", "这周六下午有育儿讲座，给您报个名？", "可以的，您方便几点？我帮您约", "商场地下车库，消费满200可以免2小时停车"),
    ("非常抱歉！麻烦拍个照片，给您换新的", "这个我们马上处理，给您补偿一张20元券", "真的抱歉，我这边直接帮您加急", "抱歉{name}，我来跟进，今天一定给您答复"),
)  # fmt: skip
THANKS = ("好的 谢谢", "嗯嗯", "好的，那我周末过去", "谢谢小姐姐", "收到👌", "行", "好滴", "谢谢啦", "[OK]")
CLOSINGS = (
    "不客气，有问题随时找我哦",
    "好的，到店前跟我说一声",
    "😊",
    "应该的，祝宝宝健康",
    "好的{name}，有需要再找我",
)

WELCOME = (
    "您好{name}，我是{store}的专属育儿顾问{guide}，以后宝宝用品、育儿问题都可以找我～新人礼券已发到您的账户，记得查收哦",
    "欢迎加入{brand}大家庭！我是您的专属顾问{guide}，回复“福利”领取新客礼包🎁",
)
HANDOVER = ("您好{name}，我是{store}的{guide}，之前为您服务的同事已离职，以后由我为您服务，有需要随时找我",)
OUTREACH: tuple[str, ...] = (
    "{name}，{campaign}开始啦！{product}直降，会员再享95折，需要的话我帮您预留",
    "{name}，算算时间宝宝的{product}快用完了吧？这周囤货满299减30",
    "{name}，上次买的{product}宝宝用得怎么样？有任何问题随时跟我说",
    "{name}，本周六{store}有免费育儿讲座，还有宝宝爬爬赛，要不要给您报个名？",
    "{name}，您有{points}积分月底到期，可以来店里换礼品哦",
    "{name}，最近降温了，宝宝注意保暖，晚上睡觉可以用睡袋哦",
    "{name}，好久不见～给您申请了一张老客回归券，满200减50，本月有效",
    "新品到店：{product}，{name}有空来店里看看，给您留了试用装",
)
# Look suspicious but are fine: a detector must not flag these (a small share of outreach and posts).
OUTREACH_TRAPS: tuple[str, ...] = (
    "淘宝、拼多多上的低价奶粉可能是水货，建议认准官方小程序购买哦",
    "请在小程序下单付款，我们不接受私人转账，注意防骗",
    "会员注册需要登记手机号，方便积分和售后",
    "这是我们官方小程序链接，点进去就能领券",
)
RESPONSES = (
    "好的",
    "谢谢提醒",
    "最近不需要",
    "已经买了",
    "多少钱？",
    "可以，帮我留{n}罐",
    "周末去店里拿",
    "先不用了谢谢",
    "这个能用券吗",
)
ANSWERS = (
    "好的，已经帮您留好了",
    "可以用的，结算时自动抵扣",
    "好的{name}，有需要再找我",
    "价格是{price}元，会员还有积分",
    "收到，到了跟您说",
)

GROUP_POSTS: tuple[str, ...] = (
    "早上好各位宝妈☀️ 今天的育儿小知识：{tip}",
    "【{campaign}】群内专享：{product}限时{price}元，小程序下单即可，数量有限～",
    "各位宝妈，本周六下午两点{store}育儿讲座，主题“{topic}”，接龙报名👇",
    "新品上架：{product}，群内前20名下单送湿巾一包",
    "晚安各位～今晚8点群内抽奖，奖品是{product}，记得准时来",
)
GROUP_TRAPS: tuple[str, ...] = (
    "温馨提示：本群只分享育儿知识和官方福利，请勿发广告，陌生人加好友要转账的都是骗子",
    "宝宝夜里哭闹不一定是生病，先看看是不是肠胀气，别当成神经性的问题乱用药",
    "门店电话021-62881234，到店有问题随时打",
    "有宝妈问京东和天猫旗舰店是不是正品：是的，都是我们官方店",
)
TIPS = (
    "6个月后可以开始添加辅食，从高铁米粉开始",
    "宝宝洗澡水温37-38度最合适",
    "换季注意给宝宝补充维生素D",
    "夜奶不宜过频，逐步拉长间隔",
    "纸尿裤松紧以能伸进两根手指为宜",
    "宝宝发烧38.5度以下先物理降温",
)
TOPICS = ("科学转奶", "辅食添加", "宝宝睡眠", "秋冬护肤", "早期阅读")
GROUP_CHAT = (
    "收到", "谢谢群主", "[强][强]", "接龙+1", "我也想报名", "{product}还有吗", "请问小程序哪里领券",
    "我家宝宝也是这样", "这个适合几个月的宝宝", "已下单", "求链接", "周六几点开始？", "宝宝{months}个月，能用吗",
)  # fmt: skip
GROUP_REPLIES = (
    "@{nick} 有的，小程序首页就能看到",
    "@{nick} 下午两点开始",
    "@{nick} 适合{months}个月以上",
    "@{nick} 私聊您了",
)

# Policy violations in staff messages, with the tricks people use to slip past keyword filters.
ABUSE = (
    "你是不是有病啊，说了多少遍了", "爱买不买，穷就别问那么多", "你脑子进水了吧", "烦不烦啊你，一天问八百遍",
    "神经病，自己不会看吗", "滚，别来烦我", "你这种客户真是奇葩", "听不懂人话是吧", "sb吧你", "你个傻X",
)  # fmt: skip
PRIVATE_DEAL = (
    "{name}，你加我私人微信 {wx}，我私下给你便宜30",
    "别在小程序拍了，直接转我，卡号{card}，比店里便宜",
    "留个你的手机号吧，我私下联系你发货",
    "扫我个人二维码下单，不走公司账，价格好商量",
    "你转我支付宝{phone}就行，货我自己给你寄",
    "这单别走系统了，微信转账给我，我多送你两包尿裤",
)
DIVERTED = (
    "这个在店里贵，你去淘宝搜“{shop}”，同款便宜50",
    "我朋友的店更便宜 https://item.taobao.com/item.htm?id={num}",
    "拼多多上有同款正品，链接发你 https://mobile.yangkeduo.com/goods.html?goods_id={num}",
    "复制这段口令打开手淘 ￥{code}￥ 买这个更划算",
    "京东那家店活动力度大 https://item.jd.com/{num}.html 去那边下",
    "去抖音搜{shop}直播间，报我名字给你折扣",
)
VIOLATION_KINDS = ("abuse", "private_deal", "diverted_order")
SHOPS = ("宝妈优选小铺", "小王母婴折扣店", "萌宝海淘", "贝贝好物", "奶粉批发直供")
HOMOPHONES = {
    "微信": ("威信", "V信", "vx", "薇❤", "➕V", "wei信"),
    "淘宝": ("某宝", "tao宝", "淘 宝", "🍑宝", "TB"),
    "拼多多": ("拼夕夕", "pdd", "拼 多 多"),
    "京东": ("JD", "狗东", "京 东"),
    "支付宝": ("zfb", "支 付 宝", "吱付宝"),
    "私下": ("私 下", "si下"),
    "神经病": ("神 经 病", "神精病", "sjb"),
    "有病": ("有bing", "有 病"),
    "傻X": ("傻Ⅹ", "沙雕", "sha bi"),
    "sb": ("s b", "SB", "$b"),
    "脑子进水": ("脑子有坑", "脑 子 进 水"),
    "滚": ("gun", "滚犊子"),
    "卡号": ("ka号", "卡 号", "k号"),
    "二维码": ("二 维 码", "码"),
    ".com": ("。com", ". com", "点com"),
}
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def violation_text(kind: int, seed: int, name: str) -> str:
    """A violating staff message of kind (index into VIOLATION_KINDS), varied and obfuscated by seed."""
    rnd = random.Random(seed)
    pool = (ABUSE, PRIVATE_DEAL, DIVERTED)[kind]
    text = rnd.choice(pool)
    digits = "".join(rnd.choice("0123456789") for _ in range(12))
    text = text.format(
        name=name,
        wx=rnd.choice(("bh_", "lyl", "xm", "mama"))
        + "".join(rnd.choice("abcdefghjkmn0123456789") for _ in range(7)),
        card="6222 " + " ".join(digits[i : i + 4] for i in range(0, 12, 4)),
        phone=f"1{rnd.choice('3589')}{digits[:9]}",
        shop=rnd.choice(SHOPS),
        num=digits,
        code="".join(rnd.choice("ABCDEFGHJKLMNPQRSTabcdefghjk23456789") for _ in range(10)),
    )
    # Obfuscate: homophones, spaces, full-width digits — the ways real staff dodge keyword filters.
    for word, variants in HOMOPHONES.items():
        if word in text and rnd.random() < 0.55:
            text = text.replace(word, rnd.choice(variants))
    if rnd.random() < 0.3:
        text = text.translate(_FULL_WIDTH)
    if rnd.random() < 0.15:
        cut = rnd.randrange(1, max(2, len(text)))
        text = text[:cut] + rnd.choice((" ", "，", "~", "..")) + text[cut:]
    return text

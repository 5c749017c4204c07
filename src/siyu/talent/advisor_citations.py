"""The article passages the org advisor quotes: one Citation per key, verbatim from ../shared/seeds."""

from __future__ import annotations

import re

from siyu.talent.contract import Citation

S000 = "000_f433a0babe068e64.txt"  # talent & org (simplified)
S001 = "001_db84981a3baa455e.txt"  # team building & KPIs (traditional: quoted here converted to simplified)
S002 = "002_31ce962b0eb14338.txt"  # org collaboration (simplified)
S003 = "003_7f7a04379b1c3dae.txt"  # 0→1 team and the five competencies (traditional: converted)
S004 = "004_f005529eb8f2fdb8.txt"  # Tencent's talent & org panorama (simplified, "ღ✿✿" stripped)
TRADITIONAL_SEEDS = frozenset({S001, S003})

# Seeds keep their punctuation as published (often ASCII commas); quotes copy it unchanged.
CITATIONS: dict[str, Citation] = {
    "breadth_precision": Citation(
        S000,
        "原有的人员配置不能满足私域运营“广度”和“精度”的需求,就需要企业自上而下调整组织架构,将私域部门设立为企业的一级部门",
    ),
    "strategic": Citation(S000, "如果企业想要把私域运营业务视为重要的业绩增长点,就需要将其提升至战略高度"),
    "first_level_report": Citation(
        S000, "一旦私域部门被定位为一级部门,很多事项、需求、资源协调等事宜都能够直接向高层汇报"
    ),
    "default_marketing": Citation(
        S000, "在大部分企业中,负责私域运营项目的团队,都归属市场部或用户运营部的下属部门。"
    ),
    "ad_buyer": Citation(S000, "这个岗位承担了公私域链接通道的作用"),
    "user_content_ops": Citation(S000, "在转化裂变阶段,有两个新兴岗位至关重要:用户运营和内容运营。"),
    "business_roles": Citation(
        S000, "根据业务不同,可能还需要专门的活动运营、商城运营、数字导购、设计师/视频直播等岗位"
    ),
    "kpi_launch": Citation(S000, "在私域运营初期,需要关注的是用户指标和活动指标。"),
    "kpi_growth": Citation(S000, "这时候关注的指标或KPI就和结果挂钩,比如到店率、转化率、转介绍率等。"),
    "kpi_steady": Citation(S000, "到了私域运营稳定期,需关注的是管理指标,包括管理效率和人员效率。"),
    "kpi_per_staff": Citation(
        S000, "这个阶段可以将平均人效作为衡量私域团队工作效率的基础,比如“人均产出营收额”等。"
    ),
    "min_unit": Citation(S001, "这样下来,一个完整的私域团队最小启动单元就搭建完成。"),
    "product_ops_data": Citation(
        S001, "企业还需要一个专门的角色来负责后台的操作,以及日常的数据统计分析类工作"
    ),
    "retention_long": Citation(S001, "但是想要验证私域长期效果,还需要考核的是用户的整体留存率"),
    "no_penalty_test": Citation(S001, "对于一些新开展的私域业务,由于仍在测试阶段,不建议用惩罚措施。"),
    "partner": Citation(S002, "我们建议品牌配备私域团队核心人员,相关运营工作则可以引入专业第三方服务商团队"),
    "ad_agency": Citation(S002, "如果企业自建整个私域团队,相当于在内部开了个广告公司,外加TP公司"),
    "crm_95": Citation(S002, "该企业95%的消费者是会员,私域用户和CRM团队服务的人群重合率大"),
    "crm_better": Citation(S002, "CRM团队通过消费者管理的方式做私域,相较于品牌团队,能更好地服务并实现目标"),
    "gmv_brand": Citation(S002, "希望在短时间内既要实现GMV增长又要品牌声量扩大"),
    "walls": Citation(S002, "就会出现“部门墙”:跨部门协作难、调资源更难"),
    "online_offline": Citation(S002, "由于该品牌私域的业务逻辑是线上线下结合,需要盘活终端门店和导购"),
    "sales_channel_purpose": Citation(
        S002, "如果把私域定位为销售渠道,那就由相应部门主导,调动所需传播资源,所有运营动作围绕生意增长即可"
    ),
    "cultivation_purpose": Citation(S002, "交易就不是私域团队的第一考虑要素"),
    "haste": Citation(S002, "任何急于求成或贪大求全的行为都可能导致私域夭折"),
    "step_by_step": Citation(S002, "在第4-6个月期间,核心目标为用户培育和用户运营,集中力量“做大”私域用户池"),
    "hire_done": Citation(S003, "那建议从外面招聘真正做过私域的人,或者邀请行业内已经拿到结果的人当顾问"),
    "theory_only": Citation(S003, "懂≠做过,千万不要让理论型选手做公司0到1的私域操盘手"),
    "in_house_knows": Citation(S003, "如果公司内部有懂私域的员工,可以由公司负责人牵头,他去做执行"),
    "absorb_sales": Citation(S003, "对于那些具备服务意识的销售人员也可以吸纳到公司的私域的转化体系当中"),
    "knows_company": Citation(S003, "因为懂私域的员工也懂公司"),
    "intercept": Citation(S003, "通过比较流氓的传统方式去别人的评论区、微信群、直播间进行截流的"),
    "pilot": Citation(S004, "从营运部,市场部,IT部分别抽调一个人,组成一个“小程序专项组”"),
    "pilot_hire_later": Citation(S004, "等小程序商城真的有了用户,有了订单,需要更多人手之后,再考虑招人"),
    "virtual_team": Citation(
        S004,
        "组建轻量化的虚拟项目团队,从市场部、电商部、销售部门等业务部门抽调核心人员,以业务需求为出发点,项目制为载体",
    ),
    "drinks": Citation(S004, "你的汽水,永远都陈列在各个超市和小店,但并没有自己的汽水专卖店时"),
    "harvest": Citation(
        S004, "每个群里的用户还没培养到50人,就开始天天往里面发软文,发链接,像没有明天一样拼命“收割”"
    ),
    "shoes": Citation(S004, "你的鞋子,很多都能直接摆在你自己在全国的几千家门店里卖"),
    "shoes_marketing": Citation(S004, "没有把他们放到销售部,而是把他们放到了隔壁的市场部来管,行不行?"),
    "member_data": Citation(S004, "让我的导购能基于这些购买数据,更精准地给会员做推荐"),
    "guides_touchpoint": Citation(S004, "导购依然是离消费者最近、最有温度且非常关键的触点"),
    "guides_digital": Citation(S004, "也需要导购能在数字化工具的赋能下,提供更全场景、顾问式的服务"),
    "revenue_important": Citation(
        S004, "做全域的团队带来的销售,居然已经占比非常高,甚至高到成为公司收入非常重要的来源之一了"
    ),
    "silos": Citation(S004, "你搭一个数据库,我也搭一个数据库"),
    "first_level": Citation(
        S004,
        "统筹全域用户运营的部门升级为一级部门,作为企业的用户中台或策略中心,统一设计全域的用户链路和用户体验",
    ),
    "growth_vs_digital": Citation(S004, "基于牵头部门的差异,又可进一步区分为用户增长驱动型和数字化赋能型"),
    "member_ops": Citation(S004, "这个角色,可以是用户运营兼职做,也可以是会员运营专门做"),
    "live": Citation(S004, "甚至还会在店里轮流开直播,在线上推爆款,上链接"),
    "recall_hv": Citation(S004, "像“流失用户召回率”“高价值用户占比”这样的指标"),
    "ad_bridge": Citation(S004, "全域时代的广告投放,是公私域贯通的纽带"),
    "mall_cold": Citation(S004, "花钱给门店建的小程序商城,每天也是冷冷清清"),
    "reply": Citation(S004, "不能面对面也能在群里及时回复"),
}

# The traditional original of each quote from a traditional seed (OpenCC t2s of it gives the quote);
# tests check the original verbatim even where OpenCC is not installed.
ORIGINALS: dict[str, str] = {
    "min_unit": "這樣下來,一個完整的私域團隊最小啟動單元就搭建完成。",
    "product_ops_data": "企業還需要一個專門的角色來負責后臺的操作,以及日常的數據統計分析類工作",
    "retention_long": "但是想要驗證私域長期效果,還需要考核的是用戶的整體留存率",
    "no_penalty_test": "對于一些新開展的私域業務,由于仍在測試階段,不建議用懲罰措施。",
    "hire_done": "那建議從外面招聘真正做過私域的人,或者邀請行業內已經拿到結果的人當顧問",
    "theory_only": "懂≠做過,千萬不要讓理論型選手做公司0到1的私域操盤手",
    "in_house_knows": "如果公司內部有懂私域的員工,可以由公司負責人牽頭,他去做執行",
    "absorb_sales": "對于那些具備服務意識的銷售人員也可以吸納到公司的私域的轉化體系當中",
    "knows_company": "因為懂私域的員工也懂公司",
    "intercept": "通過比較流氓的傳統方式去別人的評論區、微信群、直播間進行截流的",
}

_JUNK = "ღ✿✿"
# Seed 001/003 carry pinyin glosses after some characters, e.g. "精細(xì)化"; they are not the article's text.
_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùüǖǘǚǜńňǹ]+\)")


def normalise_seed(text: str) -> str:
    """A seed's text as quoted: the interleaved junk marks and pinyin glosses removed (script unchanged)."""
    return _PINYIN.sub("", text.replace(_JUNK, ""))


def cite(key: str) -> Citation:
    """The citation stored under key."""
    return CITATIONS[key]


# Every rule of the advisor: code → (citation key, zh text, en text). Texts may use the answers'
# placeholders {stores}, {guides}, {guide_slots}, {members} (percent), {revenue} (percent).
RULES: dict[str, tuple[str, str, str]] = {
    # --- structure ---
    "structure.revenue_important": (
        "revenue_important",
        "私域带来的销售已占收入的 {revenue}%，成为重要收入来源：团队应升级为一级部门。",
        "Private-domain sales are already {revenue}% of revenue, an important source: the team should become a first-level department.",
    ),
    "structure.pilot": (
        "pilot",
        "先试试水：不大张旗鼓招人，从营运、市场、IT 各抽调一人组成专项组。",
        "Testing the water: no hiring drive; second one person each from operations, marketing and IT into a project group.",
    ),
    "structure.virtual_team": (
        "virtual_team",
        "虚拟项目团队以项目制为载体，小范围试点。",
        "A light virtual project team, run as a project, pilots on a small scope.",
    ),
    "structure.pilot_then_first_level": (
        "pilot_hire_later",
        "私域是战略重点或现有组织力不从心，但仍在试水：等试点有了用户和订单，再升级组织、招人。",
        "Private domain is strategic or the org falls short, but you are still testing: once the pilot has users and orders, upgrade the structure and hire.",
    ),
    "structure.strategic": (
        "strategic",
        "私域被视为重要的业绩增长点，需要提升至战略高度，由专门团队承担。",
        "Private domain is treated as an important growth driver: it needs strategic standing and a dedicated team.",
    ),
    "structure.first_level_reporting": (
        "first_level_report",
        "一级部门可直接向高层汇报，资源协调更顺畅。",
        "A first-level department reports to the top directly, so resources are easier to coordinate.",
    ),
    "structure.breadth_precision": (
        "breadth_precision",
        "现有组织配置不能满足私域运营的“广度”和“精度”，应设立一级部门。",
        "The current org cannot meet the breadth and precision private domain needs: set up a first-level department.",
    ),
    "structure.distributors": (
        "drinks",
        "产品主要摆在别人的货架上（经销商、超市、小店），生意靠品牌和市场驱动：团队放在市场部。",
        "The products sit on others' shelves (distributors, supermarkets, shops); the business is driven by brand and marketing: place the team in marketing.",
    ),
    "structure.own_stores": (
        "shoes",
        "生意靠自己的 {stores} 家门店和导购驱动：团队放在销售部，与门店和导购一起作战。",
        "The business is driven by your own {stores} stores and their guides: place the team in sales, next to stores and guides.",
    ),
    "structure.online_offline": (
        "online_offline",
        "线上线下结合、要盘活 {stores} 家门店和导购：单独成立私域团队，而不是挂在某一个渠道部门下。",
        "Online and offline combined, with {stores} stores and guides to activate: set up a dedicated team rather than hang it under one channel department.",
    ),
    "structure.default_marketing": (
        "default_marketing",
        "多数企业的私域团队归属市场部或用户运营部：现有配置够用时，先放在市场部。",
        "In most companies the private-domain team belongs to marketing or user operations: while the current setup copes, place it in marketing.",
    ),
    "structure.first_level": (
        "first_level",
        "一级部门作为用户中台，统一设计全域的用户链路和用户体验。",
        "As a first-level department it is the user middle-platform, designing one user journey and experience across channels.",
    ),
    "structure.digital_enablement": (
        "guides_digital",
        "业务由门店和导购承接：一级部门做数字化赋能型，为导购提供工具、数据和内容。",
        "Stores and guides carry the business: make it the digital-enablement type, giving guides tools, data and content.",
    ),
    "structure.growth_driven": (
        "growth_vs_digital",
        "没有自己的门店网络承接：一级部门做用户增长驱动型，直接负责用户增长。",
        "No own store network carries the business: make it the user-growth-driven type, directly responsible for user growth.",
    ),
    "structure.crm_led": (
        "crm_95",
        "{members}% 的客户是会员，私域用户与 CRM 团队服务的人群高度重合：由会员/CRM 团队主导私域。",
        "{members}% of customers are members, so private-domain users and the CRM team's audience overlap: let the CRM / membership team run the private domain.",
    ),
    # --- build mode ---
    "build_mode.pilot_seconded": (
        "pilot_hire_later",
        "试点期用抽调的内部人员，不增加太多人力成本；有了用户和订单再招人。",
        "The pilot runs on seconded staff without adding much cost; hire once there are users and orders.",
    ),
    "build_mode.no_expertise": (
        "hire_done",
        "公司内没有做过私域的人：从外面招真正做过私域的人，或请已拿到结果的人当顾问。",
        "Nobody in-house has done private domain: hire someone who has, or bring in an adviser with results.",
    ),
    "build_mode.core_plus_partner": (
        "partner",
        "配备私域团队核心人员，相关运营工作引入专业第三方服务商，在带教中成长。",
        "Staff the core team in-house and bring in a service partner for the operations work; the team grows while being coached.",
    ),
    "build_mode.not_an_agency": (
        "ad_agency",
        "自建整个私域团队相当于在内部开一家广告公司外加 TP 公司。",
        "Building the whole team in-house means running an ad agency and a TP company inside the company.",
    ),
    "build_mode.head_leads": (
        "in_house_knows",
        "内部有懂私域的员工：由公司负责人牵头，他去执行。",
        "Someone in-house understands private domain: the company head leads and that person executes.",
    ),
    "build_mode.done_in_house": (
        "knows_company",
        "内部已有做过私域的人，他同时懂公司：自建团队。",
        "Someone in-house has done private domain and also knows the company: build the team in-house.",
    ),
    # --- starting team ---
    "starting_team.minimum_unit": (
        "min_unit",
        "最小启动单元：私域操盘手、活动策划、文案策划、产品运营、平面设计各一人。",
        "The minimum starting unit: one operator (lead), campaign planner, copywriter, product operator and designer.",
    ),
    "starting_team.pilot_trio": (
        "pilot",
        "专项组三人：营运出产品运营，市场出活动策划，IT 出数字化支持，先把小程序商城跑起来。",
        "The project group of three: product ops from operations, a campaign planner from marketing, IT support from IT, to get the mini-program mall running.",
    ),
    "starting_team.growth_roles": (
        "user_content_ops",
        "到了出成绩的阶段，用户运营和内容运营至关重要。",
        "Once results count, user operations and content operations are essential.",
    ),
    "starting_team.data_analyst": (
        "product_ops_data",
        "启动期由产品运营兼做日常数据统计分析；之后需要专职数据分析。",
        "At launch product ops also does the daily statistics; after that a dedicated analyst is needed.",
    ),
    "starting_team.mall": (
        "business_roles",
        "有小程序商城：需要专门的商城运营。",
        "There is a mini-program mall: it needs a dedicated mall operator.",
    ),
    "starting_team.stores_and_guides": (
        "guides_touchpoint",
        "导购是离消费者最近的触点：{stores} 家门店的店长和至少 {guide_slots} 名数字导购进入私域团队。",
        "Guides are the touchpoint closest to customers: the store managers of {stores} stores and at least {guide_slots} digital guides join the team.",
    ),
    "starting_team.crm_member_ops": (
        "crm_better",
        "CRM 团队以消费者管理的方式做私域：会员运营从一开始就在团队里。",
        "The CRM team runs private domain through customer management: member operations is in the team from the start.",
    ),
    "starting_team.member_ops": (
        "member_ops",
        "会员多了（{members}%），需要会员运营专人深度服务。",
        "Many customers are members ({members}%): a member operator should serve them in depth.",
    ),
    "starting_team.digital_enablement": (
        "silos",
        "数字化赋能型一级部门要有数字化/IT 支持，统一数据和工具，避免各部门各建一套。",
        "A digital-enablement department needs digital/IT support to keep one set of data and tools instead of one per department.",
    ),
    "starting_team.ad_traffic": (
        "ad_buyer",
        "流量主要来自广告：品牌市场投放承担公私域的链接通道，从一开始就需要。",
        "Traffic comes mainly from ads: the ad buyer is the bridge from public to private domain and is needed from the start.",
    ),
    "starting_team.absorb_sales": (
        "absorb_sales",
        "流量来自电销：有服务意识的销售可吸纳进私域转化体系（客服/转化岗）。",
        "Traffic comes from telesales: sales staff with a service mindset can join the conversion side (customer service).",
    ),
    "starting_team.ad_buyer": (
        "ad_bridge",
        "广告投放是公私域贯通的纽带：团队里要有品牌市场投放。",
        "Ad buying bridges public and private domain: the team needs an ad buyer.",
    ),
    "starting_team.video_live": (
        "live",
        "门店或电商可以轮流开直播、推爆款：团队里要有视频/直播。",
        "Stores or online shops can take turns live streaming best sellers: the team needs video/live.",
    ),
    "starting_team.it_digital": (
        "silos",
        "稳定期统一数据和工具，避免各部门重复搭建：团队里要有数字化/IT 支持。",
        "At the steady stage keep one set of data and tools rather than one per department: the team needs digital/IT support.",
    ),
    # --- next roles ---
    "next_roles.after_pilot": (
        "pilot_hire_later",
        "试点有了用户和订单、需要更多人手后，补齐最小启动单元。",
        "When the pilot has users and orders and needs more hands, complete the minimum starting unit.",
    ),
    "next_roles.growth_roles": (
        "user_content_ops",
        "下一阶段（出成绩）加用户运营和内容运营。",
        "For the next stage (results) add user operations and content operations.",
    ),
    "next_roles.data_analyst": (
        "product_ops_data",
        "产品运营兼做的数据统计之后交给专职数据分析。",
        "The statistics product ops does on the side move to a dedicated analyst next.",
    ),
    "next_roles.mall": (
        "business_roles",
        "有小程序商城：下一阶段加商城运营。",
        "There is a mini-program mall: add a mall operator at the next stage.",
    ),
    "next_roles.ad_buyer": (
        "ad_bridge",
        "广告投放是公私域贯通的纽带：下一阶段加品牌市场投放。",
        "Ad buying bridges public and private domain: add an ad buyer at the next stage.",
    ),
    "next_roles.video_live": (
        "live",
        "门店或电商可以轮流开直播、推爆款：下一阶段加视频/直播。",
        "Stores or online shops can take turns live streaming best sellers: add video/live at the next stage.",
    ),
    "next_roles.member_ops": (
        "member_ops",
        "会员占比 {members}%：下一阶段由会员运营专人服务会员。",
        "Members are {members}% of customers: at the next stage a member operator serves them.",
    ),
    "next_roles.it_digital": (
        "silos",
        "稳定期统一数据和工具，避免各部门重复搭建：加数字化/IT 支持。",
        "At the steady stage keep one set of data and tools rather than one per department: add digital/IT support.",
    ),
    "next_roles.steady_efficiency": (
        "kpi_steady",
        "已到稳定期：重点是管理效率和人员效率，而不是加人。",
        "Already at the steady stage: the focus is management and staff efficiency, not more people.",
    ),
    # --- KPI emphasis ---
    "kpi_emphasis.launch": (
        "kpi_launch",
        "启动期关注用户指标和活动指标：私域用户数、加粉、净增长、留存。",
        "At launch watch user and campaign metrics: private users, new contacts, net growth, retention.",
    ),
    "kpi_emphasis.retention": (
        "retention_long",
        "验证长期效果要看用户的整体留存率，而不只看粉丝数。",
        "Long-term effect shows in overall retention, not in the follower count alone.",
    ),
    "kpi_emphasis.pilot": (
        "pilot_hire_later",
        "试点看小程序商城有没有用户、有没有订单。",
        "The pilot is judged on whether the mini-program mall has users and orders.",
    ),
    "kpi_emphasis.growth": (
        "kpi_growth",
        "中期和结果挂钩：到店率、转化率、转介绍率等。",
        "In the middle stage KPIs tie to results: store-visit rate, conversion rate, referral rate.",
    ),
    "kpi_emphasis.steady": (
        "kpi_per_staff",
        "稳定期看管理和人员效率，以人均产出营收额为基础。",
        "At the steady stage watch management and staff efficiency, based on revenue per staff.",
    ),
    "kpi_emphasis.depth": (
        "recall_hv",
        "稳定期看得更深：流失用户召回率、高价值用户占比。",
        "At the steady stage look deeper: lost-user recall and the high-value share.",
    ),
    "kpi_emphasis.members": (
        "member_data",
        "会员主导：看会员渠道的用户数、留存和复购。",
        "Membership-led: watch member-channel users, their retention and repurchase.",
    ),
    "kpi_emphasis.guides": (
        "reply",
        "导购在群里和一对一都要及时回复：看 3 分钟回复率。",
        "Guides must reply promptly in groups and one-to-one: watch the 3-minute reply rate.",
    ),
    "kpi_emphasis.sales_channel": (
        "sales_channel_purpose",
        "私域定位为销售渠道：所有运营动作围绕生意增长，看 GMV。",
        "Private domain is a sales channel: everything aims at business growth, so GMV counts.",
    ),
    "kpi_emphasis.cultivation": (
        "cultivation_purpose",
        "私域定位为培育用户：交易不是第一考虑，不把 GMV 放在考核重点。",
        "Private domain is for cultivating users: transactions are not the first concern, so GMV is left out of the emphasis.",
    ),
    # --- traps ---
    "kpi_emphasis.users_first": (
        "step_by_step",
        "先集中力量做大私域用户池，再发力销售：启动期不把 GMV 放在考核重点。",
        "First grow the private user pool, then push sales: GMV is left out of the launch emphasis.",
    ),
    "trap.sales_harvest": (
        "harvest",
        "别把团队放进销售部：销售部只看销售额，群还没养起来就天天发链接“收割”。",
        "Do not put the team under sales: sales looks only at revenue, and groups get harvested with links before they have grown.",
    ),
    "trap.stores_cut_off": (
        "shoes_marketing",
        "别把团队放到市场部：离开门店和导购，会员数据和导购推荐就打不通。",
        "Do not put the team in marketing: cut off from stores and guides, member data and guide recommendations never connect.",
    ),
    "trap.gmv_and_brand": (
        "gmv_brand",
        "别一开始就既要 GMV 又要品牌声量：两个目标相互掣肘，精力和资源分散；分两步走。",
        "Do not chase GMV and brand voice at once: the goals pull against each other and scatter effort; go in two steps.",
    ),
    "trap.department_walls": (
        "walls",
        "上下没有统一的私域目标认知，会出现“部门墙”：跨部门协作难、调资源更难。",
        "Without one top-down understanding of the goal, departmental walls appear: cross-team work and resources get stuck.",
    ),
    "trap.theory_only_operator": (
        "theory_only",
        "懂≠做过：0 到 1 的操盘手要用真正做过私域的人，不要用理论型选手。",
        "Knowing is not having done it: the 0→1 lead must be someone who has run a private domain, not a theorist.",
    ),
    "trap.penalties_in_test": (
        "no_penalty_test",
        "新开展的私域业务仍在测试阶段，激励为主，不要用惩罚措施。",
        "A new private-domain business is still a test: reward, do not penalise.",
    ),
    "trap.hire_before_traction": (
        "pilot_hire_later",
        "试点还没有用户和订单时，不要大张旗鼓招人。",
        "Do not launch a hiring drive before the pilot has users and orders.",
    ),
    "trap.intercept_traffic": (
        "intercept",
        "截流来的流量（去别人的评论区、群、直播间）方式粗暴，不适合作为私域团队的基础盘。",
        "Intercepted traffic (from others' comment sections, groups and live rooms) is a rough method and no base for a private-domain team.",
    ),
    "trap.mall_unattended": (
        "mall_cold",
        "花钱建了小程序商城却没有商城运营，商城会冷冷清清。",
        "A mini-program mall without a mall operator stays empty.",
    ),
    "traps.none": (
        "haste",
        "答卷里没有发现典型陷阱；仍要避免急于求成、贪大求全。",
        "No typical trap found in the answers; still avoid haste and trying to do everything at once.",
    ),
}

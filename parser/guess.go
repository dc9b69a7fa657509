package parser

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// guessSample bounds how much of a page the guess decodes and scores.
const guessSample = 256 << 10

type language int

const (
	langChinese language = iota
	langJapanese
	langKorean
	langLatin
)

// candidate is an encoding the guess considers, in order of preference on a
// tie (the sites crawl is made for are mostly Chinese).
type candidate struct {
	name string
	enc  encoding.Encoding
	lang language
}

var candidates = []candidate{
	{"gb18030", simplifiedchinese.GB18030, langChinese},
	{"big5", traditionalchinese.Big5, langChinese},
	{"shift_jis", japanese.ShiftJIS, langJapanese},
	{"euc-jp", japanese.EUCJP, langJapanese},
	{"euc-kr", korean.EUCKR, langKorean},
	{"windows-1252", charmap.Windows1252, langLatin},
}

// minPlausible is the score a candidate needs to overrule a declared label.
const minPlausible = 0.3

// guess picks the encoding of an undeclared body: valid UTF-8 (pure ASCII
// included) is UTF-8, 7-bit text with ISO-2022-JP escapes is ISO-2022-JP,
// anything else goes to the candidate with the best score. When the whole
// body was scored, text is the body decoded with the winner (nil
// otherwise), so that it is not decoded twice.
func guess(body []byte) (enc encoding.Encoding, name string, text []byte) {
	if utf8.Valid(body) {
		if looksISO2022JP(body) {
			return japanese.ISO2022JP, "iso-2022-jp", nil
		}
		return unicode.UTF8, nameUTF8, nil
	}
	sample := sampleOf(body)
	best, bestScore := 0, -1e9
	for i, c := range candidates {
		s, _, t := scoreText(sample, c)
		if s > bestScore {
			best, bestScore, text = i, s, t
		}
	}
	if len(sample) != len(body) {
		text = nil
	}
	return candidates[best].enc, candidates[best].name, text
}

// guessText picks the encoding of plain text that is not UTF-8. Plain text
// declares nothing, and the legacy text crawl reads most (CSV files saved
// by a Chinese Excel) is GBK, so it is GB18030 whenever that decodes the
// sample, but for a character cut off at its end. Scores cannot be trusted
// over GBK: every GBK byte sequence is valid GB18030, and a few names of
// rare characters score better as windows-1252 or EUC-KR than as GB18030.
// Text that GB18030 cannot decode goes to the candidate with the best
// score, as an undeclared page does.
func guessText(sample []byte) (encoding.Encoding, string) {
	// The sample may end inside a character; none spans a line break.
	if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
		sample = sample[:i]
	}
	sample = sampleOf(sample)
	gb := candidates[0]
	for cut := 0; cut < 4 && cut <= len(sample); cut++ {
		if _, errs := scoreAs(sample[:len(sample)-cut], gb); errs == 0 {
			return gb.enc, gb.name
		}
	}
	enc, name, _ := guess(sample)
	return enc, name
}

// betterThan looks for a candidate other than the declared one that decodes
// body without errors and plausibly, better than the declared one does.
func betterThan(body []byte, declared string) (encoding.Encoding, string, bool) {
	sample := sampleOf(body)
	floor := minPlausible
	for _, c := range candidates {
		if c.name == declared {
			if s, _ := scoreAs(sample, c); s > floor {
				floor = s
			}
		}
	}
	found := -1
	for i, c := range candidates {
		if c.name == declared {
			continue
		}
		s, errs := scoreAs(sample, c)
		if errs == 0 && s > floor {
			found, floor = i, s
		}
	}
	if found < 0 {
		return nil, "", false
	}
	return candidates[found].enc, candidates[found].name, true
}

func looksISO2022JP(b []byte) bool {
	for _, esc := range []string{"\x1b$B", "\x1b$@", "\x1b(J", "\x1b(I"} {
		if bytes.Contains(b, []byte(esc)) {
			return true
		}
	}
	return false
}

// sampleOf cuts body to about guessSample bytes, at a byte that cannot be
// the second half of a multi-byte character.
func sampleOf(body []byte) []byte {
	if len(body) <= guessSample {
		return body
	}
	for i := guessSample; i < len(body) && i < guessSample+64; i++ {
		if c := body[i]; c < 0x30 || (c > 0x39 && c < 0x40) {
			return body[:i]
		}
	}
	return body[:guessSample]
}

// scoreAs decodes sample with c and rates the result: roughly the share of
// non-ASCII characters that are typical for c's language, with every
// decoding error (U+FFFD) costing three characters. It also returns the
// number of errors.
func scoreAs(sample []byte, c candidate) (float64, int) {
	s, errs, _ := scoreText(sample, c)
	return s, errs
}

// scoreText is scoreAs that also returns the decoded sample.
func scoreText(sample []byte, c candidate) (score float64, errs int, decoded []byte) {
	decoded, _, err := decode(c.enc, c.name, sample)
	if err != nil {
		return -1e9, len(sample), nil
	}
	text := decoded
	var (
		good    float64
		n       int
		run     int // length of the current run of non-ASCII runes (windows-1252)
		runGood float64
	)
	endRun := func() {
		switch run {
		case 0:
		case 1:
			good += runGood
		case 2:
			good += runGood / 2
		}
		run, runGood = 0, 0
	}
	for len(text) > 0 {
		r, size := utf8.DecodeRune(text)
		text = text[size:]
		if r < 0x80 {
			endRun()
			continue
		}
		if r == utf8.RuneError {
			errs++
			endRun()
			continue
		}
		n++
		if c.lang == langLatin {
			run++
			if latinPlausible(r) {
				runGood++
			}
			continue
		}
		good += cjkWeight(r, c.lang)
	}
	endRun()
	if n+errs == 0 {
		return 0, 0, decoded
	}
	return (good - 3*float64(errs)) / float64(n+errs), errs, decoded
}

// cjkWeight is how typical r is of text in lang.
func cjkWeight(r rune, lang language) float64 {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF:
		if commonHan.has(r) {
			if lang == langKorean {
				return 0.5
			}
			return 1
		}
		return 0
	case r >= 0x3040 && r <= 0x30FF: // hiragana, katakana
		switch lang {
		case langJapanese:
			return 1
		case langChinese:
			return 0.3
		}
		return 0
	case r >= 0xAC00 && r <= 0xD7A3: // hangul syllables
		if lang != langKorean {
			return 0
		}
		if commonHangul.has(r) {
			return 1
		}
		return 0.3
	case r >= 0x3000 && r <= 0x303F, r >= 0xFF01 && r <= 0xFF5E, r >= 0x2010 && r <= 0x2027:
		return 1 // CJK and full-width punctuation, dashes, quotes, ellipsis
	case r >= 0xFF61 && r <= 0xFF9F: // half-width katakana: rare in pages
		return -0.5
	case r >= 0x80 && r <= 0x9F, r >= 0xE000 && r <= 0xF8FF: // C1 controls, private use
		return -1
	}
	return 0
}

// latinPlausible reports whether r is a character a windows-1252 page
// would use: Latin-1 letters and symbols and the punctuation of 0x80-0x9F.
func latinPlausible(r rune) bool {
	switch {
	case r >= 0xA0 && r <= 0xFF:
		return true
	case r >= 0x2013 && r <= 0x2026, r == 0x20AC, r == 0x2122, r == 0x0152, r == 0x0153,
		r == 0x0160, r == 0x0161, r == 0x0178, r == 0x017D, r == 0x017E, r == 0x0192:
		return true
	}
	return false
}

var (
	commonHan    = runeSet(commonSimplified + commonTraditional)
	commonHangul = runeSet(commonHangulText)
)

// bmpSet is a set of characters of the Basic Multilingual Plane, one bit
// each: scoring looks up every character of a page, and a map costs a hash
// each time.
type bmpSet [0x10000 / 64]uint64

func runeSet(s string) *bmpSet {
	var b bmpSet
	for _, r := range s {
		if r < 0x10000 {
			b[r>>6] |= 1 << (r & 63)
		}
	}
	return &b
}

// has reports whether r is in the set.
func (b *bmpSet) has(r rune) bool {
	return r >= 0 && r < 0x10000 && b[r>>6]&(1<<(r&63)) != 0
}

// commonSimplified holds about the 500 most frequent Chinese characters (in
// simplified form); together they make up roughly half of running Chinese
// text, while text decoded with the wrong encoding hits them seldom.
const commonSimplified = "" +
	"的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵硬麦蒋操耶阻订彩抽赞魔纷沿喊违妹浪汇币丰蓝殊献桌啦瓦莱援译夺汽烧距裁偏符勇触课敬哭懂墙袭召罚侠厅拜巧侧韩冒债曼融惯享戴童犹乘挂奖绍厚纵障讯涉彻刊丈爆乌役描洗玛患妙镜唱烦签仙彼弗症仿倾牌陷鸟轰咱菜闭奋庆撤泪茶疾缘播朗杜奶季丹狗尾仪偷奔珠虫驻孔宜艾桥淡翼恨繁寒伴叹旦愈潮粮缩罢聚径恰挑袋灰捕徐珍幕映裂泰隔启尖忠累炎暂估泛荒偿横拒瑞忆孤鼻闹羊呆厉衡胞零穷舍码赫婆魂灾洪腿胆津俗辩胸晓劲贫仁偶辑邦恢赖圈摸仰润堆碰艇稍迟辆废净凶署壁御奉旋冬矿抬蛋晨伏吹鸡倍糊秦盾杯租骑乏隆诊奴摄丧污渡旗甘耐凭扎抢绪粗肩梁幻菲皆碎宙叔岩荡综爬荷悉蒂返井壮薄悄扫敏碍殖详迪矛霍允幅撒剩凯颗骂赏液番箱贴漫酸郎腰舒眉忧浮辛恋餐吓挺励辞艘键伍峰尺昨黎辈贯侦滑券崇扰宪绕趋慈乔阅汗枝拖墨胁插箭腊粉泥氏彭拔骗凤慧媒佩愤扑龄驱惜豪掩兼跃尸肃帕驶堡届欣惠册储飘桑闲惨洁踪勃宾频仇磨递邪撞拟滚奏巡颜剂绩贡疯坡瞧截燃焦殿伪柳锁逼颇昏劝呈搜勤戒驾漂饮曹朵仔柔俩孟腐幼践籍牧凉牲佳娜浓芳稿竹腹跌逻垂遵脉貌柏狱猜怜惑陶兽帐饰贷昌叙躺钢沟寄扶铺邓寿惧询汤盗肥尝匆辉奈扣廷澳嘛董迁凝慰厌脏腾幽怨鞋丢埋泉涌辖躲晋紫艰魏吾慌祝邮吐狠鉴曰械咬邻赤挤弯椅陪割揭韦悟聪雾锋梯猫祥阔誉筹丛牵鸣沈阁穆屈旨袖猎臂蛇贺柱抛鼠瑟戈牢逊迈欺吨琴衰瓶恼燕仲诱狼池疼卢仗冠粒遥吕玄尘冯抚浅敦纠钻晶岂峡苍喷耗凌敲菌赔涂粹扁亏寂煤熊恭湿循暖糖赋抑秩帽哀宿踏烂袁侯抖夹昆肝擦猪炼恒慎搬纽纹玻渔磁铜齿跨押怖漠疲叛遣兹祭醉拳弥斜档稀捷肤疫肿豆削岗晃吞宏癌肚隶履涨耀扭坛拨沃绘伐堪仆郭牺歼墓雇廉契拼惩捉覆刷劫嫌瓜歇雕闷乳串娃缴唤赢莲霸桃妥瘦搭赴岳嘉舱俊址庞耕锐缝悔邀玲惟斥宅添挖呵讼氧浩羽斤酷掠妖祸侍乙妨贪挣汪尿莉悬唇翰仓轨枚盐览傅帅庙芬屏寺胖璃愚滴疏萧姿颤劣柯寸扔盯辱匹俱辨饿蜂哦腔郁溃谨糟葛苗肠忌溜鸿爵鹏鹰笼丘桂滋聊挡纲肌茨壳痕碗穴膀卓贤卧膜毅锦欠哩函茫昂薛皱夸豫胃舌剥傲拾窝睁携陵哼棉晴铃填饲渴吻扮逆脆喘罩卜炉柴愉绳胎蓄眠竭喂傻慕浑奸扇柜悦拦诞饱乾泡贼亭夕爹酬儒姻卵氛泄杆挨僧蜜吟猩遂狭肖甜霜揽焰杭贞胶赌仑粘腕朴滩谊殷咽伞韵慨潘蒸唉蓬宰磷锅拓谱舟瓷嗯宴蔽恳拘驰盈秒筋挽扯翠俯悠谅巩驳秃淋舅氨宠匠掘侨缆侮芝斑坑弦溪绑嗓诈渠扛蚀窃俺堵嫁蹲刃啥瓣抄孕倚汁衔踢哨陕魄敞蜡" +
	// Words of the gallery sites crawl is made for.
	"图片写真模特套图高清壁纸性感清纯校花网红萌妹丝袜摄影作品下载首页上一下一尾末共张第页更新浏览次热门推荐最新专题合集视频动漫"

// commonTraditional holds the traditional forms of frequent characters that
// differ from their simplified forms.
const commonTraditional = "這個們來說時為國會對過後發還當經麼種點實現機學動開間關體長與從頭聽見無問題業電話讓將樣應進東車門給邊氣產務義處條報華區團軍書連陽雲幾隻兒爾員師並親覺記設認該請讀論調談議變難風飛馬魚鳥麗齊龍傳價億倆僅優內兩冊劃劍勞勢協單衛廳歷參雙啟喪嚴圍園圖執場塊壞壓壯聲備復夠夢奪奮婦媽嬰寧寶寫審導專尋層屬島嶺幣帶幫廣庫廢張彈強歸錄徑徵憂態憐戰戲戶拋擔據擁擊擇數斷於晉條極樂標橋檢權歡歲殺漢湯準溫滅滿漸潛澤濟灣災為烏煙熱燈爭爺狀獨獲獎環畫盡監盤眾礎確稱穩積窮競筆節範築簡糧紀約紅純紙級紛細終組結絕統絲綠維網緊線練縣總織繼續羅習聖聞聯職肅腦臉臨興舉舊艦藝萬葉著蘇號蟲補製複規視覽觀計訊討訓訪許訴診詞試詩誠誤誰課諸謀謝證識貓貝負財貢貨販責貴貿費資賓賞賢賣質賴購贊趕趙跡踐軌軟載輕輪輸辦農這週遊運達違遠適選遲遺郵鄉鄭醫釋鋼錢錯鐘鐵閃閉閒閱闊陸陰陳隊際隨險隱雜雖雞離電靈靜頁頂項順須預領頻額顏願類顯飯飲館駐驗驚髮鬥鬧鮮鳴黃黨齒圖片寫真模特套圖高清壁紙性感清純網紅攝影作品下載首頁張頁更新瀏覽熱門推薦最新專題視頻動漫"

// commonHangulText holds frequent hangul syllables.
const commonHangulText = "이다는의에가을하고지기서를로한자도리사나으대수인시들그것어있보해게라며아만여요없주면와상일전부정거제적과계성드니내경우신까중되국화또같원당할저소말동장위관무학분마오개구생문데세비방연실러공법선물치음발행때히야미안후통결터외설및진습했던된려작처모두합였더입년생각사람우리세계문제시간오늘한국정부사회경제회사대학교사진모델화보갤러리다운로드최신인기목록페이지다음이전"

"""Code tables and the ID-number check digit: GB/T 2261.1 sex, GB/T 3304 nations, GB 11643."""
from __future__ import annotations

SEX = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

# GB/T 3304 order: code 01 is 汉, code 56 is 基诺.
_NATIONS_IN_ORDER = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 "
    "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
    "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()
NATIONS = {f"{number:02d}": name for number, name in enumerate(_NATIONS_IN_ORDER, start=1)}
NATIONS["97"] = "其他"
NATIONS["98"] = "外国血统中国籍人士"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11


def check_digit(first17: str) -> str:
    """GB 11643-1999 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def id_number_valid(number: str) -> bool:
    """True for an 18-character number whose last character is its GB 11643 check character.

    The same rule covers resident cards, HK/Macau/Taiwan permits and the 2023 foreign card.
    """
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit():
        return False
    return number[17].upper() == check_digit(number[:17])

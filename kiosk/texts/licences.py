"""Materials the platform already holds (材料免提交, 电子证照) and continuing on the phone (手机继续办)."""

STRINGS = {
    "licence_held": ("已有电子证照，无需提交", "Held as an electronic licence: nothing to hand in"),
    "licence_detail": ("{title} · {date}发证", "{title} · issued {date}"),
    "licence_short": ("电子证照", "e-licence"),
    "licence_checking": ("正在查询您的电子证照……", "Looking up your electronic licences…"),
    "licence_found": ("平台已有您的 {n} 项电子证照，这些材料不用拍摄",
                      "The platform already holds {n} of these as electronic licences: no need to photograph them"),
    "licence_none": ("平台上没有这些材料的电子证照，请逐项拍摄",
                     "The platform holds none of these as electronic licences: please photograph each one"),
    "licence_unavailable": ("暂时查不到电子证照，请拍摄清单上的全部材料",
                            "Electronic licences cannot be checked just now: please photograph every document"),
    "phone_continue": ("回家用手机补交", "Finish on my phone"),
    "phone_title": ("用手机继续办", "Continue on your phone"),
    "phone_missing": ("还差这些材料：{names}", "Still needed: {names}"),
    "phone_scan": ("用手机扫描二维码，随时查看还缺的材料和办事指南（7天内有效）。回执小票已打印。",
                   "Scan the code with your phone to see what is missing and the guide (valid 7 days). "
                   "A slip has been printed."),
    "phone_offline": ("网络暂时不通，未能生成手机二维码。已打印补交材料提示，请收好。",
                      "The network is down, so there is no code for the phone. A slip listing what is missing "
                      "has been printed."),
    "phone_back": ("返回继续拍摄", "Back to photographing"),
    "voice_submit_phone": ("请用手机扫描屏幕上的二维码，回家后可以看到还缺哪些材料。小票已经打印，请收好。",
                           "Scan the code with your phone to see at home what is still missing. Take the printed slip."),
    "phone_link_unknown": ("这个二维码暂时查不到办件：材料可能还在上传，或链接已过期。请在办件查询里输入回执编号。",
                           "This code finds no application yet: it may still be uploading, or the link has expired. "
                           "Type the receipt number under progress."),
}

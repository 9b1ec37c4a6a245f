"""What the kiosk says aloud: each screen's intro (what it is, what to do next), the 读给我听 button,
and the words around a printed slip. Spoken texts are plain sentences: no layout, no symbols that a
speech engine would read out. ``{hotline}`` is filled in.

``INTROS`` maps a screen's name (or ``name.step`` for a step of a screen with steps) to its intro
key; a screen may instead declare ``voice_intro = "key"`` on its class (kiosk.voice.VoiceGuide).
"""
from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "read_aloud": ("读给我听", "Read aloud"),
    "voice_attract": ("这里是二十四小时自助服务区。请放上身份证，或者点一下屏幕开始办理。需要大字和语音，请点长辈模式。",
                      "This is the 24-hour self-service zone. Place your ID card, or touch the screen to start."),
    "voice_home": ("这是首页。请点要办的事：办事指南、办件查询、证明打印、材料提交、好差评，或者请工作人员上门帮办。"
                   "按住任何按钮，我会读出它的名字。",
                   "This is the home page. Touch what you want to do. Touch and hold any button to hear its name."),
    "voice_guide": ("这是办事指南。在下面的键盘输入事项名称或拼音首字母，再点要看的事项。",
                    "This is the service guide. Type a name on the keyboard below, then touch the item you want."),
    "voice_guide_detail": ("这是事项的办事指南，写着办理条件和要带的材料。可以点打印一次性告知单，带回家对照准备。",
                           "This page shows what the item needs. Touch print to take the checklist home."),
    "voice_identify": ("请把身份证平放在屏幕下方的读卡区，不要移动，读好后会自动继续。",
                       "Lay your ID card flat on the reader below the screen and hold still."),
    "voice_progress": ("这是办件查询。请刷身份证，或者扫描回执上的二维码，或者输入回执上的号码，再点查询。",
                       "Check your application: use your ID card, scan the receipt's QR code, or type its number."),
    "voice_rating": ("这是好差评。请点一个评价，可以再选原因，然后点提交。",
                     "Rate our service: touch a rating, choose reasons if you like, then touch submit."),
    "voice_submit": ("这是材料提交。请先选要办理的事项。", "Submit materials: first choose the item."),
    "voice_submit_materials": ("请按清单一项一项拍摄材料。点一项材料，把它放在高拍仪下面。",
                               "Photograph each document on the list: touch one, then place it under the camera."),
    "voice_submit_contact": ("请输入您的手机号，再选择领取结果的方式。", "Type your phone number, then choose how to get the result."),
    "voice_submit_review": ("请核对要提交的内容，没有问题就点提交。", "Check what will be sent, then touch submit."),
    "voice_submit_done": ("已经提交成功。请取走回执，凭回执上的号码可以查询进度。",
                          "Submitted. Take your receipt; its number lets you check progress."),
    "voice_capture": ("请把材料平放在高拍仪下面，不要移动，拍好后会自动继续。",
                      "Lay the document flat under the camera and hold still."),
    "voice_certificates": ("这是证明打印。请点要打印的证明，看过后点打印。", "Print certificates: touch one, look at it, then touch print."),
    "voice_certificates_preview": ("这是证明的样子。没有问题请点打印，打印好后请取走证明和凭条。",
                                   "This is the certificate. Touch print, then take it and the slip."),
    "voice_help": ("这是上门办和帮代办。请选择上门办或帮代办，输入手机号，再点提交，工作人员会打电话和您约时间。",
                   "Ask staff to visit or act for you: choose one, type your phone number, then submit. Staff will call you."),
    "voice_service_pin": ("这是技术人员维护入口。办事群众请点返回。", "Technician sign-in. Citizens: please touch back."),
    "voice_service": ("这是技术人员维护页面。办事群众请拨打{hotline}。", "Technician pages. Citizens: please call {hotline}."),
    "voice_receipt": ("{facts}", "{facts}"),
}

INTROS: dict[str, str] = {  # screen name (or "name.step") → its intro; one per line
    "attract": "voice_attract",
    "home": "voice_home",
    "guide": "voice_guide",
    "guide-detail": "voice_guide_detail",
    "identify": "voice_identify",
    "progress": "voice_progress",
    "rating": "voice_rating",
    "submit": "voice_submit",
    "submit.materials": "voice_submit_materials",
    "submit.contact": "voice_submit_contact",
    "submit.review": "voice_submit_review",
    "submit.done": "voice_submit_done",
    "capture": "voice_capture",
    "certificates": "voice_certificates",
    "certificates.preview": "voice_certificates_preview",
    "help": "voice_help",
    "service-pin": "voice_service_pin",
    "service": "voice_service",
}

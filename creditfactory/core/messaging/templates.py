"""The SMS templates (短信模板): code, parameters and text per language.

Chinese gateways only send templates registered with them, so texts live in code under a stable
code, not in the database. The sender signature is added in front as 【signature】 when rendered.
Other apps add theirs to ``SMS_TEMPLATES`` (or call ``register_template``).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

__all__ = ["SMS_TEMPLATES", "SmsTemplate", "TemplateError", "get_template", "register_template", "render_template"]


class TemplateError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class SmsTemplate:
    code: str
    texts: dict[str, str]  # language code → text with {param} placeholders
    description: str = ""
    channel: str = "sms"  # "sms", or "voice": a voice robot's script (no 【signature】 in front)

    @property
    def params(self) -> tuple[str, ...]:
        names = []
        for text in self.texts.values():
            for _literal, name, _spec, _conversion in string.Formatter().parse(text):
                if name and name not in names:
                    names.append(name)
        return tuple(names)


SMS_TEMPLATES: dict[str, SmsTemplate] = {}


def register_template(template: SmsTemplate) -> SmsTemplate:
    SMS_TEMPLATES[template.code] = template
    return template


register_template(SmsTemplate(
    code="signing_reminder",
    texts={
        "zh-hans": "您预约的远程面签时间为{time}，请准时参加。",
        "en": "Your remote signing appointment is at {time}. Please be on time.",
    },
    description="Remote signing (远程面签) reminder, sent the day before.",
))


def get_template(code: str) -> SmsTemplate:
    try:
        return SMS_TEMPLATES[code]
    except KeyError:
        raise TemplateError("template", f"Unknown SMS template {code!r}.") from None


def render_template(code: str, context: dict, *, language: str, signature: str, channel: str = "sms") -> str:
    template = get_template(code)
    if template.channel != channel:
        raise TemplateError("template", f"Template {code!r} is not a {channel} template.")
    text = template.texts.get(language)
    if text is None:
        raise TemplateError("language", f"Template {code!r} has no {language!r} text.")
    missing = [name for name in template.params if name not in context]
    if missing:
        raise TemplateError("context", f"Template {code!r} needs {', '.join(missing)}.")
    # Only plain {name} placeholders are used: no attribute or index access from the context.
    body = text.format_map({name: str(context[name]) for name in template.params})
    return f"【{signature}】{body}" if signature else body

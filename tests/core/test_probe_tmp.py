import re, pytest
from html.parser import HTMLParser
from tests.workflows.flow_factories import create_application, setup_origination
from creditfactory.organisations.roles import role_group

pytestmark = pytest.mark.django_db

class Text(HTMLParser):
    def __init__(self):
        super().__init__(); self.parts=[]; self.skip=0
    def handle_starttag(self, tag, attrs):
        if tag in ("script","style"): self.skip+=1
        for k,v in attrs:
            if k in ("title","aria-label","placeholder","label","value") and v: self.parts.append(f"[{k}={v}]")
    def handle_endtag(self, tag):
        if tag in ("script","style"): self.skip-=1
    def handle_data(self, d):
        if not self.skip and d.strip(): self.parts.append(d.strip())

def test_probe(client, django_capture_on_commit_callbacks, admin_user):
    o = setup_origination()
    o.reviewer.groups.add(role_group("credit_reviewer"))
    with django_capture_on_commit_callbacks(execute=True):
        a = create_application(o, sequence="991")
    client.force_login(o.reviewer)
    client.cookies["django_language"] = "zh-hans"
    out = []
    for url in ["/workflow/inbox/", "/workflow/queue/", "/workflow/archive/", f"/origination/applications/{a.pk}/", "/workflow/"]:
        r = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True)
        p = Text(); p.feed(r.content.decode())
        out.append(f"== {url} {r.status_code}\n" + " | ".join(p.parts))
        open(f"/tmp/i18n/{url.strip('/').replace('/','_')}.html","w").write(r.content.decode())
    client.force_login(admin_user)
    r = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    p = Text(); p.feed(r.content.decode()); out.append("== admin\n" + " | ".join(p.parts))
    open("/tmp/i18n/probe.txt","w").write("\n".join(out))

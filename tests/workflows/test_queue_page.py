from creditfactory.organisations.roles import role_group
from tests.factories import make_branch, make_staff


def test_queue_new_button_leads_to_the_application_form(client, db):
    officer = make_staff("q-officer", make_branch("sh"))
    officer.groups.add(role_group("credit_reviewer"))
    client.force_login(officer)
    response = client.get("/workflow/queue/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/origination/applications/new/"' in body
    assert "New process" not in body

from tests.factories import make_branch, make_product, make_staff

URL = "/tools/calculator/"


def _officer(db):
    return make_staff("officer", make_branch("sh"))


def test_login_required(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_calculator_renders_schedule_totals_apr_and_chart(client, db):
    client.force_login(_officer(db))
    response = client.get(URL, {"principal": "100000.00", "annual_rate_percent": "6", "term": "12",
                                "term_unit": "months", "method": "equal_installment", "start_date": "2026-01-15"})
    assert response.status_code == 200
    body = response.content.decode()
    quote = response.context["quote"]
    assert quote.schedule.installments[0].payment == quote.schedule.installments[1].payment
    assert str(quote.schedule.total_interest) == "3279.73"
    assert '<table class="bo-table" id="schedule">' in body
    assert body.count("<tr><td class=\"num\">") == 12
    assert "8,606.64" in body
    assert 'id="apr">6.00 %' in body
    assert "<svg" in body and 'class="bo-split-chart"' in body
    assert "cdn" not in body.lower()


def test_calculator_shows_errors_beside_fields(client, db):
    client.force_login(_officer(db))
    response = client.get(URL, {"principal": "-1", "term": "12", "term_unit": "months", "method": "bullet",
                                "start_date": "2026-01-15"})
    assert response.status_code == 200
    errors = response.context["errors"]
    assert set(errors) == {"principal"}
    assert response.context["quote"] is None
    assert 'class="bo-field--error"' in response.content.decode()


def test_calculator_lists_active_products(client, db):
    make_product()
    client.force_login(_officer(db))
    body = client.get(URL).content.decode()
    assert '<option value="EDUCATION"' in body


def test_empty_form_shows_no_result(client, db):
    client.force_login(_officer(db))
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["quote"] is None and response.context["errors"] == {}

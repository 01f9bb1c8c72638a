from django.urls import path

from ecitizen.payments import views

app_name = "payments"

# Pages for residents, visitors paying by reference, providers' webhooks and the
# sandbox provider's hosted pages, mounted at the site root.
urlpatterns = [
    path("account/bills/", views.bills, name="bills"),
    path("pay/", views.pay_by_reference, name="pay_by_reference"),
    path("pay/<str:reference>/", views.pay, name="pay"),
    path("payments/<uuid:payment_id>/return/", views.payment_return, name="return"),
    path("payments/<uuid:payment_id>/receipt/", views.receipt, name="receipt"),
    path("payments/webhooks/<slug:provider>/", views.webhook, name="webhook"),
    path("sandbox-pay/<str:charge_id>/", views.sandbox_card, name="sandbox_card"),
    path(
        "sandbox-pay/<str:charge_id>/challenge/", views.sandbox_challenge, name="sandbox_challenge"
    ),
    path("sandbox-pay/<str:charge_id>/cancel/", views.sandbox_cancel, name="sandbox_cancel"),
]

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns = [
    path("payments/", views.staff_payments, name="payments"),
    path("payments/reports/", views.staff_report, name="payments_report"),
    path("payments/arrears/", views.staff_arrears, name="payments_arrears"),
    path("payments/<uuid:payment_id>/", views.staff_payment, name="payment"),
]

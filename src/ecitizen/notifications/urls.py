from django.urls import URLPattern

app_name = "notifications"

# Pages for residents and the public, mounted at the site root.
urlpatterns: list[URLPattern] = []

# Pages for officials, mounted under /staff/ in the "staff" namespace.
staff_urlpatterns: list[URLPattern] = []

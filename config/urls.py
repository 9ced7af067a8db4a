"""URL routes: the app at /, the admin event browser at /admin/, a health check at /healthz, the
Prometheus figures at /metrics (operators only)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.health import healthz
from config.metrics import metrics
from config.views import favicon

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("", include("ledger.urls")),
    path("", include("projections.urls")),
]

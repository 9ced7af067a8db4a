"""URL routes: the app at /, the admin event browser at /admin/, a health check at /healthz."""

from django.contrib import admin
from django.urls import path

from config.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

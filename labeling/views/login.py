"""The login page, rate limited: a username+IP pair locked out by labeling/login_throttle.py gets 429."""
from django.contrib.auth.views import LoginView

from labeling.login_throttle import client_ip, login_seconds_locked


class ThrottledLoginView(LoginView):
    def post(self, request, *args, **kwargs):
        wait = login_seconds_locked(username=request.POST.get("username", ""), ip=client_ip(request))
        if not wait:
            return super().post(request, *args, **kwargs)
        # An unbound form: binding it would run authenticate() again just to show the page.
        context = self.get_context_data(form=self.get_form_class()(request), locked_minutes=-(-wait // 60))
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response


login = ThrottledLoginView.as_view()

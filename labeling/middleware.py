"""A Content-Security-Policy on every response: defence in depth behind the Markdown sanitizer.

Labelers read text that anyone who can import prompts or that a model wrote; ``labeling/rendering.py``
already lets no markup through that can run or fetch. The policy makes a slip there harmless too:
scripts only from this site's own files (no inline script, no ``eval``), no plugins, no other
origin's images, frames or form targets, and no framing by other sites. Inline ``style=""``
attributes stay allowed (the progress bars set their width that way). ``CONTENT_SECURITY_POLICY``
(a setting; empty turns the header off) holds the policy.
"""
from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response

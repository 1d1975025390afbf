"""Pagination of the portal's long lists (issue #11: a large client has thousands of invoices and tickets).

The template ``portal/_pagination.html`` shows the page links; they keep the other query parameters
(filters) with ``{% querystring %}``.
"""
from django.core.paginator import Page, Paginator

PAGE_SIZE = 50


def paginate(request, queryset) -> Page:
    """The requested page (``?page=``; out of range or invalid gives the last or first page)."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))

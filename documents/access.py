"""Who may see which documents: clinical roles see all; reception files and sees only
administrative ones (referrals, consent forms); managers see none."""

from .models import ClinicalDocument

VIEW_ALL = "documents.view_clinicaldocument"
VIEW_ADMINISTRATIVE = "documents.view_administrative_document"
ANY_DOCUMENT_ACCESS = (VIEW_ALL, VIEW_ADMINISTRATIVE)


def documents_visible_to(user, queryset=None):
    queryset = ClinicalDocument.objects.all() if queryset is None else queryset
    if user.has_perm(VIEW_ALL):
        return queryset
    if user.has_perm(VIEW_ADMINISTRATIVE):
        return queryset.filter(doc_type__in=ClinicalDocument.ADMINISTRATIVE)
    return queryset.none()


def can_view_document(user, document):
    return user.has_perm(VIEW_ALL) or (document.is_administrative and user.has_perm(VIEW_ADMINISTRATIVE))


def document_types_user_may_add(user):
    if user.has_perm("documents.add_clinicaldocument"):
        return set(ClinicalDocument.Type.values)
    if user.has_perm("documents.add_administrative_document"):
        return set(ClinicalDocument.ADMINISTRATIVE)
    return set()

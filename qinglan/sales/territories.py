"""Territory assignment (客戶分配): the first active TerritoryRule (lowest order) whose regions
(with sub-regions), industries, sources and levels match a new customer gives it to the rule's
member, or in turn to the active members of the rule's department. Registered with the
customers app, so the form, imports and the API all follow it; a rule's turn is kept under a
row lock, so two imports at once never give the same turn twice."""

from qinglan.customers.assignment import register_assigner
from qinglan.customers.models import Region
from qinglan.org.models import User

from .models import TerritoryRule


def _matches(rule, customer, region_path):
    if rule.region_paths and not (region_path and any(region_path.startswith(path) for path in rule.region_paths)):
        return False
    if rule.industry_ids and customer.industry_id not in rule.industry_ids:
        return False
    if rule.source_ids and customer.source_id not in rule.source_ids:
        return False
    if rule.level_ids and customer.level_id not in rule.level_ids:
        return False
    return True


def _rules():
    rules = list(TerritoryRule.objects.filter(active=True).select_related("member").prefetch_related("regions", "industries", "sources", "levels"))
    for rule in rules:
        rule.region_paths = [region.path for region in rule.regions.all()]
        rule.industry_ids = {item.pk for item in rule.industries.all()}
        rule.source_ids = {item.pk for item in rule.sources.all()}
        rule.level_ids = {level.pk for level in rule.levels.all()}
    return rules


class Turns:
    """The members of rules' departments in turn, from after each rule's last one; the rules'
    rows stay locked until the customers are saved."""

    def __init__(self):
        self.members = {}
        self.last = {}

    def next(self, rule, entered_by):
        if rule.pk not in self.members:
            locked = TerritoryRule.objects.select_for_update().get(pk=rule.pk)
            self.members[rule.pk] = list(User.objects.filter(department_id=rule.team_id, is_active=True).order_by("username", "pk"))
            self.last[rule.pk] = locked.last_given_id
        members = self.members[rule.pk]
        if not members:
            return None
        if entered_by is not None and any(member.pk == entered_by.pk for member in members):
            return entered_by  # a member of the team keeps what they found; the turn does not move
        ids = [member.pk for member in members]
        index = (ids.index(self.last[rule.pk]) + 1) % len(ids) if self.last[rule.pk] in ids else 0
        self.last[rule.pk] = ids[index]
        return members[index]

    def save(self):
        for rule_id, last in self.last.items():
            TerritoryRule.objects.filter(pk=rule_id).update(last_given_id=last)


def assign_owners(customers, user):
    """The new customers the rules give to someone get that owner and ``assigned_by``."""
    if not customers:
        return
    rules = _rules()
    if not rules:
        return
    paths = dict(Region.objects.filter(pk__in={c.region_id for c in customers if c.region_id}).values_list("pk", "path"))
    entered_by = user if user is not None and getattr(user, "is_authenticated", False) else None
    turns = Turns()
    for customer in customers:
        for rule in rules:
            if not _matches(rule, customer, paths.get(customer.region_id)):
                continue
            owner = (rule.member if rule.member.is_active else None) if rule.member_id else turns.next(rule, entered_by)
            if owner is None:  # a member who left, a department with no active member: the next rule may still apply
                continue
            customer.owner = owner
            customer.assigned_by = rule.name
            break
    turns.save()


register_assigner(assign_owners)

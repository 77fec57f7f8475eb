"""重病关怀: the follow-up of seriously ill members (issue 17 part 6).

Guangxi's platform follows every seriously ill member with five touches — "一条补贴短信、一个
问候电话、一份慰问品、一笔慰问金、一篇政策宣传报道" (seed 000). A rule per fund region (benefit
granted in the year above an amount, or a diagnosis on the region's list) opens a follow-up
for the member's county union, with the five touches as tasks, each with a deadline in
working days and a record."""

# Scheduler texts (English): reminders, session reminders, protocol alerts.
# Placeables are HTML-escaped by the caller. Reminders never carry scores.

sched-reminder-start = 📝 A questionnaire is waiting for you: <b>{ $title }</b>. Send /resume to start.
sched-reminder-unfinished = 📝 You have an unfinished questionnaire: <b>{ $title }</b>. Send /resume to continue where you stopped.

sched-session-reminder = 📅 Reminder: session { $number }, “{ $title }”, of group { $group } is planned for { $date }. After the session, send /session to log it.
sched-log-overdue = ⏰ Session { $number } of group { $group } ({ $date }) has not been logged yet. Please send /session to log it.

sched-alert-title = ⚠️ <b>Protocol deviation</b>
sched-alert-window-early = Participant { $code }: “{ $instrument }” ({ $timepoint }) was started on { $started }, before its window opened on { $opens } ({ $anchor }).
sched-alert-window-late = Participant { $code }: “{ $instrument }” ({ $timepoint }) was started on { $started }, after its window closed on { $closes } ({ $anchor }).
sched-alert-window-undated = Participant { $code }: “{ $instrument }” ({ $timepoint }) was started on { $started }, before { $anchor } took place.
sched-alert-session-unlogged = Session { $number } of group { $group } ({ $date }) has no closed log 24 hours after its date.
sched-alert-no-consent = Participant { $code } has research data ({ $answers } answers, { $observations } observations, { $notes } notes) but no recorded consent and assent.

sched-anchor-enrolment = measured from enrolment on { $date }
sched-anchor-session = measured from session { $number } of group { $group } on { $date }
sched-anchor-session-undated = session { $number } of group { $group }

# Facilitator texts (English): session log, notes, nicknames, rating alerts; and the two lines
# families get when a session's questionnaire is sent. Placeables are HTML-escaped by the caller.

fac-heading = <b>{ $group }</b> · session { $number }: { $title }
fac-back = ◀ Back
fac-cancel = ✖ Cancel
fac-cancelled = Cancelled. Nothing was saved. Send /session to start again.
fac-resuming = Continuing where you left off.
fac-no-groups = You are not assigned to a group yet. Please ask the study coordinator.
fac-use-buttons = Please use the buttons under the last message, or send /session to see where you are.

fac-pick-group = Which group is this for?
fac-pick-number = Which session?
fac-planned-on = planned { $date }
fac-log-next = ▶ Session { $number } · { $title }
fac-closed-already = This session was closed (held on { $held }; { $amendments ->
        [0] not amended so far
        [one] amended once
       *[other] amended { $amendments } times
    }). You can amend the log: the original entries stay in the audit trail, and you will be asked why.
fac-amend = ✏️ Amend this session
fac-amend-reason = Why are you amending this session? Please type a short reason (for the audit trail).
fac-reason-invalid = Please type a short reason of a few words (up to 500 characters).

fac-pick-date = When was the session held? Tap a day, or type a date as YYYY-MM-DD.
fac-date-current = Logged so far: { $date }
fac-date-today = Today · { $date }
fac-date-yesterday = Yesterday · { $date }
fac-date-held = As logged · { $date }
fac-date-planned = Planned · { $date }
fac-date-invalid = Please type a date as YYYY-MM-DD, not later than today ({ $today }).

fac-attendance = Held on { $date }. Who was there? Tap each child who attended ({ $n } of { $total } marked).
fac-no-members = No children are listed in this group yet. Please ask the study coordinator.
fac-all-present = ☑️ All
fac-attendance-done = Done ▶ ({ $n })
fac-attendance-saved = Attendance saved (held on { $date }):
fac-toast-nobody = Mark at least one child present.

fac-observe-child = 👁 <b>Observation { $k } of { $n }: { $child }</b>
fac-skip-child = ⏭ Skip this child
fac-observed = ✓ Observation saved.
fac-skipped-child = — Skipped: no observation today.
fac-reflect = 💭 <b>Your reflection on the session</b>

fac-summary = Present: { $present } · absent: { $absent }
    Observed: { $observed } · skipped: { $skipped } · reflection: { $reflection }
fac-confirm-close = Close the session now? The families of the children present will get the short session questionnaire right away.
fac-close = 🔒 Close session
fac-not-yet = Not yet
fac-close-later = Saved. Send /session when you are ready to close it.
fac-closed = 🔒 Session closed.
fac-toast-log-incomplete = Some children still need an observation (or a skip), or the reflection is missing.
fac-toast-not-your-group = This is not one of your groups.
fac-toast-other-logger = Another facilitator is logging this session right now.
fac-dispatched = The session questionnaire went to { $families ->
        [one] 1 family
       *[other] { $families } families
    } ({ $sets ->
        [one] 1 questionnaire
       *[other] { $sets } questionnaires
    }).
fac-dispatched-none = No new questionnaires needed to go out.
fac-dispatch-failed = { $n ->
        [one] 1 family
       *[other] { $n } families
    } could not be reached (for example, they blocked the bot). The questionnaire stays assigned to them.
fac-group-ended = That was the group's last session: the end-of-group survey went to the families who took part, and the follow-up questionnaires are open.
fac-opens-later = The "{ $timepoint }" questionnaires open on { $date }.

fac-amend-menu = ✏️ Amendment { $amendment }. What do you want to change? Corrections keep the original entries in the audit trail.
fac-edit-date = 📅 Date: { $date }
fac-edit-attendance = ✅ Attendance ({ $n } present)
fac-edit-reflection = 💭 Reflection
fac-finish-amend = ✔️ Done: close the session again
fac-edit-set = <b>{ $title }</b>, { $who }. Tap an answer to change it.
fac-reflection-name = your reflection
fac-current = Current answer: { $answer }
fac-type-new = Type the new answer as a message.
fac-clear = Clear answer
fac-amend-saved = ✔️ Amendment saved; the session is closed again.

fac-note-label = note
fac-interview-label = interview note
fac-note-pick = Which child is the { $kind } about?
fac-note-nobody = There are no consented children in your groups yet.
fac-note-type = Write the { $kind } on <b>{ $child }</b>. Type it as a message (several messages are fine). Please use codes, not names.
fac-note-coding = <b>{ $child }</b>: { $kind }, { $chars } characters so far.
fac-note-codes = Tag it with codes (tap to select), then save. Further messages are added to the note.
fac-note-no-codes = The study defines no codes; save the note as it is. Further messages are added to the note.
fac-note-save = 💾 Save ({ $n ->
        [one] 1 code
       *[other] { $n } codes
    })
fac-note-saved = ✓ Saved the { $kind } on { $child }{ $session }. Codes: { $codes }
fac-note-session = , linked to session { $number } ({ $date })
fac-note-cancelled = The note was discarded.
fac-note-open = You have a note in progress; finish or cancel it first.
fac-note-too-long = The note is too long (at most { $max } characters). Save it and start another one for the rest.
fac-unknown-child = "{ $code }" is not a child in your groups.

fac-nickname-usage = Nicknames help you recognise children in your own chat; nobody else sees them and they are never exported.
    Set: <code>/nickname CODE Name</code> · remove: <code>/nickname CODE</code>
fac-nickname-set = { $code } is now shown to you as "{ $name }".
fac-nickname-removed = The nickname for { $code } was removed.
fac-nickname-too-long = Please keep nicknames to { $max } characters.

fac-alert-low = ⚠️ <b>Low session rating</b>: { $child }, { $group } session { $number }. Total { $total } of { $max }.
fac-alert-low-item = • “{ $item }”: { $value }
fac-alert-low-hint = (Alerts when the total is below { $threshold } or an item below { $item }.) Please check in with the family in person; they do not see this message.
fac-alert-divergence-higher = 🔀 <b>Ratings differ</b> for { $group } session { $number }: you rated it “{ $own }” ({ $ownValue }/{ $ownMax }), the families' mean is { $mean } of { $maxTotal } ({ $responses ->
        [one] 1 response
       *[other] { $responses } responses
    } so far). The families saw the session less positively than you did.
fac-alert-divergence-lower = 🔀 <b>Ratings differ</b> for { $group } session { $number }: you rated it “{ $own }” ({ $ownValue }/{ $ownMax }), the families' mean is { $mean } of { $maxTotal } ({ $responses ->
        [one] 1 response
       *[other] { $responses } responses
    } so far). The families saw the session more positively than you did.

fac-family-comment = 💬 <b>{ $child }</b>'s family wrote after { $group } session { $number } (for you only):

cmd-nickname = Private nicknames for children

fam-session-over = Today's group session (session { $number }) is over. We have a few short questions for you.
fam-group-over = The group has finished. We have a few last questions for you.
fam-new-waiting = When you have finished the current questions, send /resume to continue.

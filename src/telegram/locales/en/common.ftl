# Circle bot texts (English). Flow texts (questions, consent) come from flows/*.yaml.
# Placeables are HTML-escaped by the caller; messages are sent with parse_mode HTML.

welcome-no-invite = Welcome to Circle. This assistant is used by a research study; you need the invite link your study team gave you. If you have one, open it again or send <code>/start YOUR-CODE</code>.
welcome-back = Welcome back.
invite-invalid = That invite code is not valid. Please check the link your study team sent you.
invite-used = That invite has already been used. If you need a new one, please ask your study team.
invite-expired = That invite has expired. Please ask your study team for a new one.
invite-throttled = Too many wrong codes from this chat. Please wait 15 minutes and try again, or ask your study team for help.
invite-already-enrolled = You are already enrolled in Circle as { $role }. This invite was not used.
enrolled-role = You are enrolled in Circle as { $role }. Send /help to see what you can do.

role-admin = coordinator
role-researcher = researcher
role-facilitator = facilitator
role-parent = parent

consent-title = <b>Information and consent</b> (version { $version })
consent-agree = I agree
consent-decline = I do not agree
consent-recorded-agree = ✓ You agreed (consent version { $version }).
consent-recorded-decline = You did not agree. Thank you for considering the study.
assent-title = <b>Your child's agreement</b> (version { $version })
assent-instructions = Please read this to your child in your own words, then tell us what your child said.
assent-agree = My child agrees
assent-decline = My child does not agree
assent-recorded-agree = ✓ Your child agreed (assent version { $version }).
assent-recorded-decline = Your child did not want to take part. We respect that.
declined-final = We have recorded that you will not take part. Nothing more will be asked. If you change your mind, please talk to your study team.

q-progress = { $n }/{ $total }
q-back = ◀ Back
q-skip = Skip
q-pause = ⏸ Pause
q-answered = ✓ { $answer }
q-skipped = — skipped
q-type-number = Type a number from { $min } to { $max }.
q-type-text = Type your answer as a message.
q-number-invalid = Please type a number from { $min } to { $max }.
q-text-invalid = Please type a short text answer (up to 2000 characters).
q-use-buttons = Please answer with the buttons under the question.
q-paused = ⏸ Paused. Send /resume (or any message) when you are ready; your answers are saved.
q-resumed = Let's continue where you stopped.
q-handoff = <b>{ $title }</b>

Please hand the phone to your child now. When your child is ready, they press the button.
q-handoff-ready = I'm ready
q-intro = <b>{ $title }</b> — { $count } questions.
q-all-done = Thank you! That's everything for now. We'll message you when there is something new.
q-instrument-done = ✓ { $title } — done. Thank you!
q-nothing-pending = There is nothing to answer right now. Thank you!
q-current-answer = Current answer: { $answer }

toast-stale = This button is no longer active.
toast-saved = Saved
toast-invalid = That answer is not possible here.
toast-not-optional = This question cannot be skipped.
toast-no-back = This is the first question.
toast-not-allowed = Not available for your role.
toast-done = Already completed.

status-title = <b>Your questionnaires</b>
status-line = { $mark } { $title } ({ $timepoint }) — { $answered }/{ $total }
status-none = Nothing assigned yet.
status-withdrawn = You have withdrawn from the study. No more questions will be sent.
status-declined = You did not give consent, so no questions are sent.
status-needs-consent = Consent is still needed before any questions.

withdraw-confirm = Do you want to withdraw from the study? No more questions or reminders will be sent. { $policy }
withdraw-yes = Yes, withdraw
withdraw-no = No, stay
withdraw-done = You have withdrawn. Thank you for your time. This does not affect your child's care in any way.
withdraw-kept = You are still in the study.
withdraw-not-parent = Only a participating parent can withdraw.

language-choose = Choose your language:
language-set = Language set to English.

help-parent = Commands: /resume to continue, /status to see your questionnaires, /language to change language, /withdraw to leave the study.
help-facilitator = Commands: /session to log a group session, /note to record an observation note, /interview for interview notes, /nickname to show a first name instead of a code (in your chat only), /language.
help-researcher = Commands: /progress, /report instrument-id, /export, /language.
help-admin = Commands: /progress, /report instrument-id, /export, /language. Manage participants and invites with the circle command on the server.
help-none = You are not enrolled. Please open the invite link from your study team.

unknown-command = I don't know that command. Send /help to see what you can do.
private-only = Circle works in private chats only. Please message me directly.
not-allowed = This command is not available for your role.
error-generic = Sorry, something went wrong on our side. Your answers are saved; please try again in a moment.
unsupported-message = I can only read text and button presses here.

cmd-start = Start or continue
cmd-resume = Continue questionnaires
cmd-status = My questionnaires
cmd-language = Change language
cmd-withdraw = Withdraw from the study
cmd-help = Help
cmd-session = Log a group session
cmd-note = Observation note on a child
cmd-interview = Interview notes
cmd-progress = Study progress
cmd-report = Effect report
cmd-export = Export data

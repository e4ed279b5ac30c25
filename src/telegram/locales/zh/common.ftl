# Circle 机器人文本（简体中文）。问卷题目和知情同意书来自 flows/*.yaml。

welcome-no-invite = 欢迎使用 Circle。本助手用于一项研究，您需要研究团队提供的邀请链接。如果您有链接，请再次打开，或发送 <code>/start 您的邀请码</code>。
welcome-back = 欢迎回来。
invite-invalid = 该邀请码无效。请检查研究团队发给您的链接。
invite-used = 该邀请已被使用。如需新的邀请，请联系研究团队。
invite-expired = 该邀请已过期。请向研究团队索取新的邀请。
invite-throttled = 此对话中输入错误的邀请码次数过多。请等待 15 分钟后再试，或联系研究团队。
invite-already-enrolled = 您已经以{ $role }身份加入 Circle，本次邀请未被使用。
enrolled-role = 您已以{ $role }身份加入 Circle。发送 /help 查看可用功能。

role-admin = 协调员
role-researcher = 研究人员
role-facilitator = 小组带领者
role-parent = 家长

consent-title = <b>研究说明与知情同意</b>（版本 { $version }）
consent-agree = 我同意
consent-decline = 我不同意
consent-recorded-agree = ✓ 您已同意（知情同意书版本 { $version }）。
consent-recorded-decline = 您选择了不同意。感谢您考虑参加本研究。
assent-title = <b>孩子本人的同意</b>（版本 { $version }）
assent-instructions = 请用您自己的话把下面的内容讲给孩子听，然后告诉我们孩子的回答。
assent-agree = 孩子同意
assent-decline = 孩子不同意
assent-recorded-agree = ✓ 孩子已同意（版本 { $version }）。
assent-recorded-decline = 孩子不想参加，我们尊重孩子的决定。
declined-final = 我们已记录您不参加本研究，之后不会再向您提问。如果您改变主意，请联系研究团队。

q-progress = { $n }/{ $total }
q-back = ◀ 上一题
q-skip = 跳过
q-pause = ⏸ 暂停
q-answered = ✓ { $answer }
q-skipped = — 已跳过
q-type-number = 请输入 { $min } 到 { $max } 之间的数字。
q-type-text = 请直接发送文字作答。
q-number-invalid = 请输入 { $min } 到 { $max } 之间的数字。
q-text-invalid = 请发送一段简短的文字（不超过 2000 字）。
q-use-buttons = 请点击问题下方的按钮作答。
q-paused = ⏸ 已暂停。准备好后发送 /resume（或任意消息）即可继续，您的回答都已保存。
q-resumed = 我们从您停下的地方继续。
q-handoff = <b>{ $title }</b>

现在请把手机交给孩子。孩子准备好后，请点击下面的按钮。
q-handoff-ready = 我准备好了
q-intro = <b>{ $title }</b> —— 共 { $count } 题。
q-all-done = 谢谢您！目前的问卷已全部完成。有新的内容时我们会通知您。
q-instrument-done = ✓ { $title } —— 已完成，谢谢！
q-nothing-pending = 目前没有需要回答的问卷。谢谢！
q-current-answer = 当前回答：{ $answer }

toast-stale = 这个按钮已失效。
toast-saved = 已保存
toast-invalid = 这里不能选择这个答案。
toast-not-optional = 这道题不能跳过。
toast-no-back = 这已经是第一题。
toast-not-allowed = 您的角色无法使用此功能。
toast-done = 已经完成。

status-title = <b>您的问卷</b>
status-line = { $mark } { $title }（{ $timepoint }）—— { $answered }/{ $total }
status-none = 目前还没有分配问卷。
status-withdrawn = 您已退出研究，之后不会再发送问题。
status-declined = 您没有同意参加，因此不会发送问题。
status-needs-consent = 在回答问题之前，还需要您的知情同意。

withdraw-confirm = 您确定要退出研究吗？之后将不再发送问题或提醒。{ $policy }
withdraw-yes = 是的，退出
withdraw-no = 不，继续参加
withdraw-done = 您已退出研究。感谢您付出的时间。这不会对孩子的治疗和照护有任何影响。
withdraw-kept = 您仍在研究中。
withdraw-not-parent = 只有参加研究的家长可以退出。

language-choose = 请选择语言：
language-set = 语言已设为简体中文。

help-parent = 命令：/resume 继续作答，/status 查看问卷，/language 切换语言，/withdraw 退出研究。
help-facilitator = 命令：/session 记录小组活动，/note 记录对孩子的观察，/interview 记录访谈，/nickname 用小名代替编号（只在您的对话中显示），/language 切换语言。
help-researcher = 命令：/progress 研究进度，/report 问卷编号 效果报告，/export 导出数据，/language 切换语言。
help-admin = 命令：/progress、/report 问卷编号、/export、/language。参与者和邀请请在服务器上用 circle 命令管理。
help-none = 您还没有加入。请打开研究团队发给您的邀请链接。

unknown-command = 我不认识这个命令。发送 /help 查看可用功能。
private-only = Circle 只在私聊中使用，请直接给我发消息。
not-allowed = 您的角色无法使用此命令。
error-generic = 抱歉，我们这边出了点问题。您的回答已保存，请稍后再试。
unsupported-message = 这里我只能读取文字和按钮。

cmd-start = 开始或继续
cmd-resume = 继续作答
cmd-status = 我的问卷
cmd-language = 切换语言
cmd-withdraw = 退出研究
cmd-help = 帮助
cmd-session = 记录小组活动
cmd-note = 观察记录
cmd-interview = 访谈记录
cmd-progress = 研究进度
cmd-report = 效果报告
cmd-export = 导出数据

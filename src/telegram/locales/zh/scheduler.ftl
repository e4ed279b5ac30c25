# 定时任务文本（中文）：提醒、活动提醒、方案偏离警示。
# 占位符由调用方做 HTML 转义。提醒中绝不包含分数。

sched-reminder-start = 📝 有一份问卷等您填写：<b>{ $title }</b>。发送 /resume 开始。
sched-reminder-unfinished = 📝 您有一份未完成的问卷：<b>{ $title }</b>。发送 /resume 从上次停下的地方继续。

sched-session-reminder = 📅 提醒：{ $group } 组第 { $number } 次活动“{ $title }”计划于 { $date } 进行。活动结束后，请发送 /session 记录。
sched-log-overdue = ⏰ { $group } 组第 { $number } 次活动（{ $date }）尚未记录。请发送 /session 记录。

sched-alert-title = ⚠️ <b>方案偏离</b>
sched-alert-window-early = 参与者 { $code }：“{ $instrument }”（{ $timepoint }）于 { $started } 开始填写，早于时间窗口的开始日期 { $opens }（{ $anchor }）。
sched-alert-window-late = 参与者 { $code }：“{ $instrument }”（{ $timepoint }）于 { $started } 开始填写，晚于时间窗口的结束日期 { $closes }（{ $anchor }）。
sched-alert-window-undated = 参与者 { $code }：“{ $instrument }”（{ $timepoint }）于 { $started } 开始填写，当时{ $anchor }尚未举行。
sched-alert-session-unlogged = { $group } 组第 { $number } 次活动（{ $date }）在活动日期 24 小时后仍未完成记录。
sched-alert-no-consent = 参与者 { $code } 有研究数据（{ $answers } 条回答、{ $observations } 条观察、{ $notes } 条笔记），但没有知情同意和儿童同意的记录。

sched-anchor-enrolment = 以 { $date } 入组为起点
sched-anchor-session = 以 { $group } 组第 { $number } 次活动（{ $date }）为起点
sched-anchor-session-undated = { $group } 组第 { $number } 次活动

# 小组带领者文本（简体中文）：活动记录、笔记、昵称、评分提醒；以及活动问卷发出时家庭收到的两句话。

fac-heading = <b>{ $group }</b> · 第 { $number } 次活动：{ $title }
fac-back = ◀ 返回
fac-cancel = ✖ 取消
fac-cancelled = 已取消，未保存任何内容。发送 /session 重新开始。
fac-resuming = 从上次停下的地方继续。
fac-no-groups = 您还没有被分配到任何小组，请联系研究协调员。
fac-use-buttons = 请使用最后一条消息下方的按钮，或发送 /session 查看当前进度。

fac-pick-group = 这是哪个小组的记录？
fac-pick-number = 第几次活动？
fac-planned-on = 计划于 { $date }
fac-log-next = ▶ 第 { $number } 次 · { $title }
fac-closed-already = 这次活动已经结束记录（举行日期 { $held }；{ $amendments ->
        [0] 尚未修改过
       *[other] 已修改 { $amendments } 次
    }）。您可以修改记录：原始记录会保留在审计记录中，并需要填写修改原因。
fac-amend = ✏️ 修改这次活动的记录
fac-amend-reason = 您为什么要修改这次活动的记录？请简要输入原因（将写入审计记录）。
fac-reason-invalid = 请用几个字简要说明原因（不超过 500 字）。

fac-pick-date = 活动是哪天举行的？请点选日期，或按 YYYY-MM-DD 格式输入。
fac-date-current = 目前记录的日期：{ $date }
fac-date-today = 今天 · { $date }
fac-date-yesterday = 昨天 · { $date }
fac-date-held = 已记录 · { $date }
fac-date-planned = 计划 · { $date }
fac-date-invalid = 请按 YYYY-MM-DD 格式输入日期，且不晚于今天（{ $today }）。

fac-attendance = 举行日期 { $date }。哪些孩子来了？请点选每位出席的孩子（已选 { $n }/{ $total }）。
fac-no-members = 这个小组还没有登记任何孩子，请联系研究协调员。
fac-all-present = ☑️ 全选
fac-attendance-done = 完成 ▶（{ $n }）
fac-attendance-saved = 出勤已保存（举行日期 { $date }）：
fac-toast-nobody = 请至少选择一位出席的孩子。

fac-observe-child = 👁 <b>观察记录 { $k }/{ $n }：{ $child }</b>
fac-skip-child = ⏭ 跳过这个孩子
fac-observed = ✓ 观察记录已保存。
fac-skipped-child = — 已跳过：今天不做观察记录。
fac-reflect = 💭 <b>您对这次活动的反思</b>

fac-summary = 出席：{ $present } · 缺席：{ $absent }
    已观察：{ $observed } · 已跳过：{ $skipped } · 反思：{ $reflection }
fac-confirm-close = 现在结束这次活动的记录吗？出席孩子的家庭会立即收到简短的活动问卷。
fac-close = 🔒 结束活动记录
fac-not-yet = 暂不
fac-close-later = 已保存。准备好后发送 /session 结束记录。
fac-closed = 🔒 活动记录已结束。
fac-toast-log-incomplete = 还有孩子没有观察记录（或未跳过），或者反思尚未完成。
fac-toast-not-your-group = 这不是您带领的小组。
fac-toast-other-logger = 另一位带领者正在记录这次活动。
fac-dispatched = 活动问卷已发给 { $families } 个家庭（共 { $sets } 份问卷）。
fac-dispatched-none = 没有需要新发送的问卷。
fac-dispatch-failed = 有 { $n } 个家庭无法联系（例如屏蔽了机器人），问卷仍为他们保留。
fac-group-ended = 这是小组的最后一次活动：小组结束问卷已发给参加过活动的家庭，后测问卷也已开放。
fac-opens-later = “{ $timepoint }”问卷将于 { $date } 开放。

fac-amend-menu = ✏️ 第 { $amendment } 次修改。您要修改哪一部分？原始记录会保留在审计记录中。
fac-edit-date = 📅 日期：{ $date }
fac-edit-attendance = ✅ 出勤（{ $n } 人出席）
fac-edit-reflection = 💭 反思
fac-finish-amend = ✔️ 完成：重新结束活动记录
fac-edit-set = <b>{ $title }</b>，{ $who }。点选要修改的回答。
fac-reflection-name = 您的反思
fac-current = 当前回答：{ $answer }
fac-type-new = 请以消息形式输入新的回答。
fac-clear = 清除回答
fac-amend-saved = ✔️ 修改已保存，活动记录已重新结束。

fac-note-label = 观察笔记
fac-interview-label = 访谈笔记
fac-note-pick = 这条{ $kind }是关于哪个孩子的？
fac-note-nobody = 您的小组里还没有已同意参加研究的孩子。
fac-note-type = 请为 <b>{ $child }</b> 写{ $kind }。以消息形式输入（可以分几条发送）。请使用编号，不要写姓名。
fac-note-coding = <b>{ $child }</b>：{ $kind }，目前 { $chars } 个字符。
fac-note-codes = 请选择编码标签（点选即可多选），然后保存。继续发送的消息会添加到这条笔记中。
fac-note-no-codes = 本研究未定义编码，可以直接保存。继续发送的消息会添加到这条笔记中。
fac-note-save = 💾 保存（{ $n } 个编码）
fac-note-saved = ✓ 已保存关于 { $child } 的{ $kind }{ $session }。编码：{ $codes }
fac-note-session = ，关联第 { $number } 次活动（{ $date }）
fac-note-cancelled = 这条笔记已放弃。
fac-note-open = 您有一条尚未完成的笔记，请先保存或取消。
fac-note-too-long = 笔记太长（最多 { $max } 个字符）。请先保存，其余内容另写一条。
fac-unknown-child = “{ $code }”不是您小组里的孩子。

fac-nickname-usage = 昵称只帮助您在自己的对话中认出孩子；其他人看不到，也永远不会被导出。
    设置：<code>/nickname 编号 昵称</code> · 删除：<code>/nickname 编号</code>
fac-nickname-set = 之后 { $code } 会以“{ $name }”显示给您。
fac-nickname-removed = 已删除 { $code } 的昵称。
fac-nickname-too-long = 昵称请不要超过 { $max } 个字符。

fac-alert-low = ⚠️ <b>活动评分偏低</b>：{ $child }，{ $group } 第 { $number } 次活动。总分 { $total }/{ $max }。
fac-alert-low-item = • “{ $item }”：{ $value }
fac-alert-low-hint = （总分低于 { $threshold } 或任一题低于 { $item } 时提醒。）请当面关心一下这个家庭；他们看不到这条消息。
fac-alert-divergence-higher = 🔀 <b>评分差异</b>：{ $group } 第 { $number } 次活动，您的评价是“{ $own }”（{ $ownValue }/{ $ownMax }），家庭平均为 { $mean }/{ $maxTotal }（目前 { $responses } 份回答）。家庭对这次活动的评价不如您积极。
fac-alert-divergence-lower = 🔀 <b>评分差异</b>：{ $group } 第 { $number } 次活动，您的评价是“{ $own }”（{ $ownValue }/{ $ownMax }），家庭平均为 { $mean }/{ $maxTotal }（目前 { $responses } 份回答）。家庭对这次活动的评价比您更积极。

fac-family-comment = 💬 <b>{ $child }</b> 的家庭在 { $group } 第 { $number } 次活动后留言（仅您可见）：

cmd-nickname = 孩子的私人昵称

fam-session-over = 今天的小组活动（第 { $number } 次）已经结束。我们有几个简短的问题想请您回答。
fam-group-over = 小组活动已经全部结束。我们还有最后几个问题想请您回答。
fam-new-waiting = 回答完当前的问题后，请发送 /resume 继续。

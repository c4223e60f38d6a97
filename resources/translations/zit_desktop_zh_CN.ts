<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>CrashReporter</name>
    <message>
        <source>ZIT Desktop: internal error</source>
        <translation>ZIT Desktop：内部错误</translation>
    </message>
    <message>
        <source>Something went wrong inside ZIT Desktop (a bug, not something you did). You can keep working; if it happens again, please report it with the log file:
{0}</source>
        <translation>ZIT Desktop 内部出错了（这是程序缺陷，不是您的操作问题）。您可以继续使用；如果再次发生，请附上日志文件报告问题：
{0}</translation>
    </message>
    <message>
        <source>Internal error</source>
        <translation>内部错误</translation>
    </message>
    <message>
        <source>ZIT Desktop closed unexpectedly</source>
        <translation>ZIT Desktop 意外关闭</translation>
    </message>
    <message>
        <source>ZIT Desktop closed unexpectedly last time. The crash report was saved to:
{0}</source>
        <translation>ZIT Desktop 上次意外关闭。崩溃报告已保存到：
{0}</translation>
    </message>
</context>
<context>
    <name>DetailsPane</name>
    <message>
        <source>this computer</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <source>Negative prompt</source>
        <translation>反向提示词</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Guidance</source>
        <translation>引导系数</translation>
    </message>
    <message>
        <source>Memory strategy</source>
        <translation>显存策略</translation>
    </message>
    <message>
        <source>Out-of-memory retries</source>
        <translation>显存不足重试次数</translation>
    </message>
    <message>
        <source>Made on</source>
        <translation>生成于</translation>
    </message>
    <message>
        <source>Timings</source>
        <translation>耗时</translation>
    </message>
    <message>
        <source>Peak VRAM</source>
        <translation>显存峰值</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>创建时间</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>%1:</source>
        <translation>%1：</translation>
    </message>
    <message>
        <source>Selected image</source>
        <translation>选中的图片</translation>
    </message>
    <message>
        <source>File missing</source>
        <translation>文件丢失</translation>
    </message>
    <message>
        <source>Select an image to see how it was made.</source>
        <translation>选择一张图片，查看它的生成参数。</translation>
    </message>
    <message>
        <source>Image details</source>
        <translation>图片详情</translation>
    </message>
    <message>
        <source>File missing: it was deleted or moved. If you moved it, use “Rebuild from folder…” to find it again.</source>
        <translation>文件丢失：已被删除或移动。如果是您移动的，请用“从文件夹重建…”重新找到它。</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source> (off: negative prompt unused)</source>
        <translation>（关闭：反向提示词不生效）</translation>
    </message>
    <message>
        <source>encode</source>
        <translation>编码</translation>
    </message>
    <message>
        <source>denoise</source>
        <translation>去噪</translation>
    </message>
    <message>
        <source>decode</source>
        <translation>解码</translation>
    </message>
    <message>
        <source>save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>total</source>
        <translation>合计</translation>
    </message>
    <message>
        <source>No image</source>
        <translation>没有图片</translation>
    </message>
</context>
<context>
    <name>EnginePicker</name>
    <message>
        <source>This computer</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>All engines (pool)</source>
        <translation>全部引擎（池）</translation>
    </message>
    <message>
        <source>Run on:</source>
        <translation>运行于：</translation>
    </message>
    <message>
        <source>Run on</source>
        <translation>运行于</translation>
    </message>
    <message>
        <source>Where the images are made. A ComfyUI server samples differently from this computer, so the same seed gives a different picture there.</source>
        <translation>图片在哪里生成。ComfyUI 服务器的采样方式与本机不同，所以同一种子在那里会得到不同的图片。</translation>
    </message>
</context>
<context>
    <name>EnginesDialog</name>
    <message>
        <source>Remove engine</source>
        <translation>移除引擎</translation>
    </message>
    <message>
        <source>Remove the engine “{0}” and its stored token or password?</source>
        <translation>移除引擎“{0}”及其保存的令牌或密码？</translation>
    </message>
    <message>
        <source>The test failed; see the log file.</source>
        <translation>测试失败；详情见日志文件。</translation>
    </message>
    <message>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Engines</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>Send jobs to ComfyUI servers when this computer is not enough: a GPU box at home, a rented cloud GPU. Run ComfyUI there with the Z-Image-Turbo files, reach it over your LAN, a VPN or an https reverse proxy (never a raw port-forward), and add it here.</source>
        <translation>当本机不够用时，把任务发给 ComfyUI 服务器：家里的 GPU 主机、租用的云 GPU。在那里运行带有 Z-Image-Turbo 文件的 ComfyUI，通过局域网、VPN 或 https 反向代理访问它（切勿直接端口转发），然后在这里添加。</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <source>Sign-in</source>
        <translation>登录方式</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Token or password</source>
        <translation>令牌或密码</translation>
    </message>
    <message>
        <source>CA certificate</source>
        <translation>CA 证书</translation>
    </message>
    <message>
        <source>None</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Bearer token</source>
        <translation>Bearer 令牌</translation>
    </message>
    <message>
        <source>User name and password (Basic)</source>
        <translation>用户名和密码（Basic）</translation>
    </message>
    <message>
        <source>only for a server with its own certificate</source>
        <translation>仅用于使用自有证书的服务器</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>studio</source>
        <translation>studio</translation>
    </message>
    <message>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>测试</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>The pool also uses this computer</source>
        <translation>池中也使用本机</translation>
    </message>
    <message>
        <source>The server&apos;s CA certificate</source>
        <translation>服务器的 CA 证书</translation>
    </message>
    <message>
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>证书 (*.pem *.crt *.cer);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Saved. This computer has no keyring, so the token or password is kept only until the app closes.</source>
        <translation>已保存。本机没有密钥环，令牌或密码只保留到应用关闭。</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>已保存。</translation>
    </message>
    <message>
        <source>Saved and testing: connecting to {0}…</source>
        <translation>已保存，正在测试：连接 {0}…</translation>
    </message>
</context>
<context>
    <name>EnginesHookup</name>
    <message>
        <source>ComfyUI samples differently: the same seed gives a different picture there.</source>
        <translation>ComfyUI 的采样方式不同：同一种子在那里会得到不同的图片。</translation>
    </message>
</context>
<context>
    <name>ExploreGrid</name>
    <message>
        <source>Variations</source>
        <translation>变体</translation>
    </message>
    <message>
        <source>Seed {0}</source>
        <translation>种子 {0}</translation>
    </message>
    <message>
        <source>Seed {0} · not made</source>
        <translation>种子 {0} · 未生成</translation>
    </message>
    <message>
        <source>Seed {0} · rendering…</source>
        <translation>种子 {0} · 生成中…</translation>
    </message>
    <message>
        <source>Seed {0} · waiting</source>
        <translation>种子 {0} · 等待中</translation>
    </message>
    <message>
        <source>No variations yet: press Explore.</source>
        <translation>还没有变体：请按“探索”。</translation>
    </message>
    <message>
        <source>Variation {0} of {1}: {2}. Click one, or use the arrow keys and Enter, to pick it.</source>
        <translation>第 {0} 个变体，共 {1} 个：{2}。点击一个，或用方向键和回车选择它。</translation>
    </message>
    <message>
        <source>Click a variation, or use the arrow keys and Enter, to pick it.</source>
        <translation>点击一个变体，或用方向键和回车选择它。</translation>
    </message>
    <message>
        <source>not made</source>
        <translation>未生成</translation>
    </message>
    <message>
        <source>waiting…</source>
        <translation>等待中…</translation>
    </message>
</context>
<context>
    <name>FilterBar</name>
    <message>
        <source>Search prompts (中文 or English)…</source>
        <translation>搜索提示词（中文或英文）…</translation>
    </message>
    <message>
        <source>Search prompts</source>
        <translation>搜索提示词</translation>
    </message>
    <message>
        <source>★ Favourites</source>
        <translation>★ 收藏</translation>
    </message>
    <message>
        <source>Show only favourites</source>
        <translation>只显示收藏</translation>
    </message>
    <message>
        <source>Size preset filter</source>
        <translation>尺寸预设筛选</translation>
    </message>
    <message>
        <source>Show one size preset only</source>
        <translation>只显示一种尺寸预设</translation>
    </message>
    <message>
        <source>Date filter</source>
        <translation>日期筛选</translation>
    </message>
    <message>
        <source>Show images made in this period</source>
        <translation>显示这段时间内生成的图片</translation>
    </message>
    <message>
        <source>More…</source>
        <translation>更多…</translation>
    </message>
    <message>
        <source>More gallery actions</source>
        <translation>更多图库操作</translation>
    </message>
    <message>
        <source>Rebuild from folder…</source>
        <translation>从文件夹重建…</translation>
    </message>
    <message>
        <source>Number of images</source>
        <translation>图片数量</translation>
    </message>
    <message>
        <source>All time</source>
        <translation>全部时间</translation>
    </message>
    <message>
        <source>Today</source>
        <translation>今天</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>最近 7 天</translation>
    </message>
    <message>
        <source>Last 30 days</source>
        <translation>最近 30 天</translation>
    </message>
    <message>
        <source>All sizes</source>
        <translation>全部尺寸</translation>
    </message>
    <message>
        <source>1 image</source>
        <translation>1 张图片</translation>
    </message>
    <message numerus="yes">
        <source>%n images</source>
        <translation>
            <numerusform>%n 张图片</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FinalizeDialog</name>
    <message>
        <source>Finalize</source>
        <translation>定稿</translation>
    </message>
    <message>
        <source>From {0}
{1}×{2} · seed {3}
{4}</source>
        <translation>来自 {0}
{1}×{2} · 种子 {3}
{4}</translation>
    </message>
    <message>
        <source>Source image</source>
        <translation>源图片</translation>
    </message>
    <message>
        <source>Method:</source>
        <translation>方式：</translation>
    </message>
    <message>
        <source>Refine</source>
        <translation>精修</translation>
    </message>
    <message>
        <source>Upscale, then redraw the details at the target size with the same prompt and seed. Keeps the composition.</source>
        <translation>先放大，再用相同的提示词和种子在目标尺寸下重绘细节。保持构图。</translation>
    </message>
    <message>
        <source>Upscale only</source>
        <translation>仅放大</translation>
    </message>
    <message>
        <source>Enlarge without redrawing: fast, no diffusion.</source>
        <translation>放大但不重绘：快，不做扩散。</translation>
    </message>
    <message>
        <source>Target:</source>
        <translation>目标：</translation>
    </message>
    <message>
        <source>Target size</source>
        <translation>目标尺寸</translation>
    </message>
    <message>
        <source>×2 of the source ({0}×{1})</source>
        <translation>源图的 ×2（{0}×{1}）</translation>
    </message>
    <message>
        <source>Scale:</source>
        <translation>倍数：</translation>
    </message>
    <message>
        <source>Scale</source>
        <translation>倍数</translation>
    </message>
    <message>
        <source>×{0} ({1}×{2})</source>
        <translation>×{0}（{1}×{2}）</translation>
    </message>
    <message>
        <source>Upscaler</source>
        <translation>放大模型</translation>
    </message>
    <message>
        <source>Lanczos (built in, fastest)</source>
        <translation>Lanczos（内置，最快）</translation>
    </message>
    <message>
        <source>Real-ESRGAN general x4v3 (5 MB, downloaded on first use)</source>
        <translation>Real-ESRGAN general x4v3（5 MB，首次使用时下载）</translation>
    </message>
    <message>
        <source>My own file: {0}</source>
        <translation>我自己的文件：{0}</translation>
    </message>
    <message>
        <source>A file of my own…</source>
        <translation>我自己的文件…</translation>
    </message>
    <message>
        <source>How much may change:</source>
        <translation>可改变的程度：</translation>
    </message>
    <message>
        <source>How much may change</source>
        <translation>可改变的程度</translation>
    </message>
    <message>
        <source>keep</source>
        <translation>保持</translation>
    </message>
    <message>
        <source>repaint</source>
        <translation>重绘</translation>
    </message>
    <message>
        <source>Low values keep the picture and sharpen its details; high values let the model repaint it (the default is {0:.2f}).</source>
        <translation>数值低则保留画面并锐化细节；数值高则让模型重绘它（默认 {0:.2f}）。</translation>
    </message>
    <message>
        <source>Choose an upscaler model</source>
        <translation>选择放大模型</translation>
    </message>
    <message>
        <source>Upscaler models (*.pth *.safetensors)</source>
        <translation>放大模型 (*.pth *.safetensors)</translation>
    </message>
    <message>
        <source>Upscale first with:</source>
        <translation>先放大，使用：</translation>
    </message>
    <message>
        <source>Upscaler:</source>
        <translation>放大模型：</translation>
    </message>
    <message>
        <source>How much may change: {0:.2f} (0 keeps the picture, 1 repaints it)</source>
        <translation>可改变的程度：{0:.2f}（0 保持画面，1 完全重绘）</translation>
    </message>
    <message>
        <source>Upscale</source>
        <translation>放大</translation>
    </message>
    <message>
        <source>Result: {0}×{1} · {2} · seed {3}</source>
        <translation>结果：{0}×{1} · {2} · 种子 {3}</translation>
    </message>
    <message>
        <source>Tiled: {0}×{1} does not fit whole on this card, so it is refined in overlapping {4}-px tiles (about {2} per tile, {3} free).</source>
        <translation>分块：{0}×{1} 无法整体放入这张显卡，因此分成相互重叠的 {4} 像素块来精修（每块约 {2}，可用 {3}）。</translation>
    </message>
    <message>
        <source>Whole image: about {2} predicted for {0}×{1} ({3} free).</source>
        <translation>整图：预计 {0}×{1} 需要约 {2}（可用 {3}）。</translation>
    </message>
    <message>
        <source>The source image {0} is missing: it was moved or deleted.</source>
        <translation>源图片 {0} 不见了：它被移动或删除了。</translation>
    </message>
    <message>
        <source>Choose your upscaler model file (.pth or .safetensors), or pick Lanczos or Real-ESRGAN.</source>
        <translation>请选择你的放大模型文件（.pth 或 .safetensors），或选择 Lanczos 或 Real-ESRGAN。</translation>
    </message>
    <message>
        <source>{0}×{1} is larger than {2} pixels a side, the most a refine can make. Choose a preset, or use “Upscale only” for larger images.</source>
        <translation>{0}×{1} 的边长超过了 {2} 像素，这是精修能生成的最大尺寸。请选择一个预设，或用“仅放大”得到更大的图片。</translation>
    </message>
</context>
<context>
    <name>FinalizeHookup</name>
    <message>
        <source>Explore</source>
        <translation>探索</translation>
    </message>
    <message>
        <source>Make several variations at a small size (seed, seed+1, …) to pick one and finalize it (Ctrl+E).</source>
        <translation>以小尺寸生成几个变体（种子、种子+1、…），从中挑一个再定稿（Ctrl+E）。</translation>
    </message>
    <message>
        <source>Variations to explore</source>
        <translation>要探索的变体数</translation>
    </message>
    <message>
        <source>How many variations Explore makes</source>
        <translation>“探索”生成多少个变体</translation>
    </message>
    <message>
        <source>Explore variations</source>
        <translation>探索变体</translation>
    </message>
    <message>
        <source>Finalize the chosen image…</source>
        <translation>定稿所选图片…</translation>
    </message>
    <message>
        <source>Finalize…</source>
        <translation>定稿…</translation>
    </message>
    <message>
        <source>Refine or upscale this image to a larger size (Ctrl+Shift+F)</source>
        <translation>把这张图精修或放大到更大的尺寸（Ctrl+Shift+F）</translation>
    </message>
    <message>
        <source>◂ Variations</source>
        <translation>◂ 变体</translation>
    </message>
    <message>
        <source>Back to the variations to pick another</source>
        <translation>回到变体，另选一个</translation>
    </message>
    <message>
        <source>Back to the variations</source>
        <translation>回到变体</translation>
    </message>
    <message>
        <source>Pick the variation to keep: click it, or use the arrow keys and Enter. Then finalize it.</source>
        <translation>挑出要保留的变体：点击它，或用方向键和回车。然后定稿。</translation>
    </message>
    <message>
        <source>Image area</source>
        <translation>图片区域</translation>
    </message>
    <message>
        <source>The image {0} cannot be read.</source>
        <translation>无法读取图片 {0}。</translation>
    </message>
    <message>
        <source>Picked the variation with seed {0}</source>
        <translation>已选种子为 {0} 的变体</translation>
    </message>
    <message>
        <source>Make or pick an image first, then finalize it.</source>
        <translation>请先生成或选择一张图片，再定稿。</translation>
    </message>
    <message>
        <source>The stored parameters of this image are unreadable ({0}).</source>
        <translation>这张图片保存的参数无法读取（{0}）。</translation>
    </message>
</context>
<context>
    <name>GalleryModel</name>
    <message>
        <source>Seed %1 · %2×%3</source>
        <translation>种子 %1 · %2×%3</translation>
    </message>
    <message>
        <source>Made on %1</source>
        <translation>生成于 %1</translation>
    </message>
    <message>
        <source>Memory strategy: %1</source>
        <translation>内存策略：%1</translation>
    </message>
    <message>
        <source>Refined from another image (a final)</source>
        <translation>由另一张图精修而来（定稿）</translation>
    </message>
    <message>
        <source>Upscaled from another image (a final)</source>
        <translation>由另一张图放大而来（定稿）</translation>
    </message>
    <message>
        <source>★ Favourite</source>
        <translation>★ 收藏</translation>
    </message>
    <message>
        <source>File missing: %1</source>
        <translation>文件丢失：%1</translation>
    </message>
</context>
<context>
    <name>GalleryPanel</name>
    <message>
        <source>Reuse seed</source>
        <translation>复用种子</translation>
    </message>
    <message>
        <source>Reuse all parameters</source>
        <translation>复用全部参数</translation>
    </message>
    <message>
        <source>Open image</source>
        <translation>打开图片</translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation>在文件夹中显示</translation>
    </message>
    <message>
        <source>Finalize…</source>
        <translation>定稿…</translation>
    </message>
    <message>
        <source>Copy prompt</source>
        <translation>复制提示词</translation>
    </message>
    <message>
        <source>Favourite</source>
        <translation>收藏</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Undo delete</source>
        <translation>撤销删除</translation>
    </message>
    <message>
        <source>Image gallery</source>
        <translation>图库</translation>
    </message>
    <message>
        <source>Generated images, newest first. Right-click or use the shortcuts to reuse, open or delete them.</source>
        <translation>已生成的图片，最新的在前。右键或使用快捷键可复用、打开或删除。</translation>
    </message>
    <message>
        <source>Gallery</source>
        <translation>图库</translation>
    </message>
    <message>
        <source>That image is hidden by the search or filters, or is in the trash.</source>
        <translation>那张图片被搜索或筛选隐藏了，或者在回收站中。</translation>
    </message>
    <message>
        <source>The file is missing: %1</source>
        <translation>文件丢失：%1</translation>
    </message>
    <message>
        <source>The folder is missing: %1</source>
        <translation>文件夹丢失：%1</translation>
    </message>
    <message>
        <source>1 image moved to the trash.</source>
        <translation>已将 1 张图片移到回收站。</translation>
    </message>
    <message numerus="yes">
        <source>%n images moved to the trash.</source>
        <translation>
            <numerusform>已将 %n 张图片移到回收站。</numerusform>
        </translation>
    </message>
    <message>
        <source>1 image restored.</source>
        <translation>已恢复 1 张图片。</translation>
    </message>
    <message numerus="yes">
        <source>%n images restored.</source>
        <translation>
            <numerusform>已恢复 %n 张图片。</numerusform>
        </translation>
    </message>
    <message>
        <source>Imported 1 image from the folder.</source>
        <translation>已从文件夹导入 1 张图片。</translation>
    </message>
    <message numerus="yes">
        <source>Imported %n images from the folder.</source>
        <translation>
            <numerusform>已从文件夹导入 %n 张图片。</numerusform>
        </translation>
    </message>
    <message>
        <source>Remove from favourites</source>
        <translation>取消收藏</translation>
    </message>
    <message>
        <source>Add to favourites</source>
        <translation>加入收藏</translation>
    </message>
    <message>
        <source>Rebuild history from folder</source>
        <translation>从文件夹重建历史记录</translation>
    </message>
    <message>
        <source>Importing images from %1…</source>
        <translation>正在从 %1 导入图片…</translation>
    </message>
    <message>
        <source>Rebuild failed: %1</source>
        <translation>重建失败：%1</translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <source>Your image appears here</source>
        <translation>生成的图片会显示在这里</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>图片</translation>
    </message>
    <message>
        <source>Live preview, step {0}</source>
        <translation>实时预览，第 {0} 步</translation>
    </message>
    <message>
        <source>Finished image: {0}</source>
        <translation>已完成的图片：{0}</translation>
    </message>
    <message>
        <source>Preview · step {0}</source>
        <translation>预览 · 第 {0} 步</translation>
    </message>
</context>
<context>
    <name>Launch</name>
    <message>
        <source>The model given with --model cannot be used (%1): %2 The current model stays.</source>
        <translation>无法使用 --model 指定的模型（%1）：%2 当前模型保持不变。</translation>
    </message>
    <message>
        <source>The picture %1 does not exist, so no parameters were loaded.</source>
        <translation>图片 %1 不存在，因此没有载入参数。</translation>
    </message>
    <message>
        <source>Loading parameters from a picture is not available in this window.</source>
        <translation>此窗口不支持从图片载入参数。</translation>
    </message>
    <message>
        <source>No parameters were loaded from %1. %2</source>
        <translation>没有从 %1 载入参数。%2</translation>
    </message>
</context>
<context>
    <name>LineageBox</name>
    <message>
        <source>Source:</source>
        <translation>来源：</translation>
    </message>
    <message>
        <source>Finals:</source>
        <translation>定稿：</translation>
    </message>
    <message>
        <source>Lineage</source>
        <translation>谱系</translation>
    </message>
    <message>
        <source>Show this image: {0}</source>
        <translation>显示这张图片：{0}</translation>
    </message>
    <message>
        <source>Show {0}</source>
        <translation>显示 {0}</translation>
    </message>
    <message>
        <source>upscaled ×{0}</source>
        <translation>已放大 ×{0}</translation>
    </message>
    <message>
        <source>refined {0}</source>
        <translation>已精修 {0}</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>ZIT Desktop — Z-Image-Turbo</source>
        <translation>ZIT Desktop — Z-Image-Turbo 本地生图</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <source>Generate (Ctrl+Enter). While a job runs, this adds to the queue.</source>
        <translation>生成（Ctrl+Enter）。有任务在运行时，会加入队列。</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open the output folder</source>
        <translation>打开输出文件夹</translation>
    </message>
    <message>
        <source>Open the log file</source>
        <translation>打开日志文件</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Generate</source>
        <translation>生成(&amp;G)</translation>
    </message>
    <message>
        <source>Cancel the running job</source>
        <translation>取消正在运行的任务</translation>
    </message>
    <message>
        <source>Clear the queue</source>
        <translation>清空队列</translation>
    </message>
    <message>
        <source>Reuse the last image&apos;s parameters and seed</source>
        <translation>复用上一张图片的参数和种子</translation>
    </message>
    <message>
        <source>Free GPU memory</source>
        <translation>释放显存</translation>
    </message>
    <message>
        <source>Unload the model to give its memory back; it loads again with the next Generate</source>
        <translation>卸载模型以归还它占用的内存；下次生成时会重新载入</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Model and memory…</source>
        <translation>模型与显存…</translation>
    </message>
    <message>
        <source>Engines…</source>
        <translation>引擎…</translation>
    </message>
    <message>
        <source>Follow the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <source>The model is ready. Press Generate.</source>
        <translation>模型已就绪。请点击“生成”。</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <source>This image was made with the model variant “%1”, which is not on this computer. Generating now uses the current model.</source>
        <translation>这张图片是用模型版本“%1”生成的，这台电脑上没有该版本。现在生成会使用当前模型。</translation>
    </message>
    <message>
        <source>Cancel the running job; the waiting jobs stay in the queue (Esc)</source>
        <translation>取消正在运行的任务；等待中的任务留在队列里（Esc）</translation>
    </message>
    <message>
        <source>Clear queue</source>
        <translation>清空队列</translation>
    </message>
    <message>
        <source>Remove every waiting job; the running job goes on (Shift+Esc)</source>
        <translation>移除所有等待中的任务；正在运行的任务继续（Shift+Esc）</translation>
    </message>
    <message>
        <source>Queue ({0} waiting)</source>
        <translation>队列（{0} 个等待中）</translation>
    </message>
    <message>
        <source>Image {0}/{1} on {2}…</source>
        <translation>第 {0}/{1} 张，在 {2} 上…</translation>
    </message>
    <message>
        <source>Image {0}/{1}: encoding the prompt…</source>
        <translation>第 {0}/{1} 张：正在编码提示词…</translation>
    </message>
    <message>
        <source>Done: {0} image(s)</source>
        <translation>完成：{0} 张图片</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>n/a (made on {0})</source>
        <translation>不适用（生成于 {0}）</translation>
    </message>
    <message>
        <source>Seed {0}</source>
        <translation>种子 {0}</translation>
    </message>
    <message>
        <source>Quitting once the current image is saved…</source>
        <translation>当前图片保存后即退出…</translation>
    </message>
    <message>
        <source>Set up the model…</source>
        <translation>设置模型…</translation>
    </message>
    <message>
        <source>No image yet</source>
        <translation>还没有图片</translation>
    </message>
    <message>
        <source>n/a (CPU)</source>
        <translation>无（CPU）</translation>
    </message>
    <message>
        <source>Last image: {0:.1f} s · strategy {1} · peak VRAM {2}</source>
        <translation>上一张：{0:.1f} 秒 · 策略 {1} · 显存峰值 {2}</translation>
    </message>
</context>
<context>
    <name>Messages</name>
    <message>
        <source>The parameters are not valid.</source>
        <translation>参数无效。</translation>
    </message>
    <message>
        <source>Numerical overflow (the image would be black). Nothing was saved.</source>
        <translation>数值溢出（图片会是全黑的），未保存任何文件。</translation>
    </message>
    <message>
        <source>The disk is full. Free some space and try again.</source>
        <translation>磁盘已满。请清理出一些空间后重试。</translation>
    </message>
    <message>
        <source>The output folder cannot be written. Check its permissions.</source>
        <translation>无法写入输出文件夹，请检查权限。</translation>
    </message>
    <message>
        <source>The history database has a problem.</source>
        <translation>历史记录数据库出现问题。</translation>
    </message>
    <message>
        <source>Internal error (a bug). The details are in the log file; please report them.</source>
        <translation>内部错误（程序缺陷）。详情在日志文件中，请报告给我们。</translation>
    </message>
    <message>
        <source>The job failed.</source>
        <translation>任务失败。</translation>
    </message>
    <message>
        <source>Starting the engine (torch, diffusers)…</source>
        <translation>正在启动引擎（torch、diffusers）…</translation>
    </message>
    <message>
        <source>Finding the model…</source>
        <translation>正在查找模型…</translation>
    </message>
    <message>
        <source>Loading the model (the first time takes longest)…</source>
        <translation>正在加载模型（第一次最慢）…</translation>
    </message>
    <message>
        <source>Model ready</source>
        <translation>模型已就绪</translation>
    </message>
    <message>
        <source>Reloading the model to switch to the “{0}” memory strategy…</source>
        <translation>正在重新加载模型以切换到“{0}”显存策略…</translation>
    </message>
    <message>
        <source>Out of memory: retried with a leaner memory strategy.</source>
        <translation>显存不足：已改用更省显存的策略重试。</translation>
    </message>
    <message>
        <source>Out of video memory while {0} with “{1}”; the same image (same seed) is retried with the leaner “{2}” strategy.</source>
        <translation>在{0}时使用“{1}”策略显存不足；正在用更省显存的“{2}”策略重试同一张图（相同种子）。</translation>
    </message>
    <message>
        <source>The prompt is too long: only its beginning is used.</source>
        <translation>提示词过长：只使用开头部分。</translation>
    </message>
    <message>
        <source>The model is not on this computer yet. “Set up the model…” downloads the variant that fits this computer, or uses files you already have.</source>
        <translation>这台电脑上还没有模型。“设置模型…”会下载适合这台电脑的版本，或使用你已有的文件。</translation>
    </message>
    <message>
        <source>Those files are not a usable Z-Image-Turbo model. “Set up the model…” shows what is missing and lets you choose other files or download a variant.</source>
        <translation>这些文件不是可用的 Z-Image-Turbo 模型。“设置模型…”会列出缺少的内容，你可以选择其他文件或下载一个版本。</translation>
    </message>
    <message>
        <source>The model files are damaged. “Set up the model…” downloads them again.</source>
        <translation>模型文件已损坏。“设置模型…”会重新下载。</translation>
    </message>
    <message>
        <source>Out of memory: this image did not fit. Try a smaller size preset.</source>
        <translation>内存不足：这张图片放不下。请试试更小的尺寸预设。</translation>
    </message>
    <message>
        <source>The connection failed. Check the network (and the server, for a remote engine).</source>
        <translation>连接失败。请检查网络（远程引擎还要检查服务器）。</translation>
    </message>
    <message>
        <source>The ComfyUI server failed the job. The server&apos;s own message follows.</source>
        <translation>ComfyUI 服务器未能完成任务。以下是服务器自己的消息。</translation>
    </message>
    <message>
        <source>The server is not ready for Z-Image-Turbo: install what is named below on that machine, then test it again in Settings → Engines…</source>
        <translation>服务器还不能运行 Z-Image-Turbo：请在那台机器上安装下面列出的内容，然后在“设置 → 引擎…”中再次测试。</translation>
    </message>
    <message>
        <source>The server cannot be reached. Check that ComfyUI runs there and that this computer can reach it (Settings → Engines… → Test), or run on this computer.</source>
        <translation>无法连接服务器。请检查那里的 ComfyUI 是否在运行、本机能否访问它（设置 → 引擎… → 测试），或改在本机运行。</translation>
    </message>
    <message>
        <source>The server ran out of GPU memory. Try a smaller size preset or another engine.</source>
        <translation>服务器显存不足。请试试更小的尺寸预设或换一个引擎。</translation>
    </message>
    <message>
        <source>The server did not accept the job.</source>
        <translation>服务器没有接受这个任务。</translation>
    </message>
    <message>
        <source>Everything on the GPU</source>
        <translation>全部放在 GPU 上</translation>
    </message>
    <message>
        <source>Model offload</source>
        <translation>模型卸载</translation>
    </message>
    <message>
        <source>Group offload</source>
        <translation>分组卸载</translation>
    </message>
    <message>
        <source>Sequential</source>
        <translation>逐层</translation>
    </message>
    <message>
        <source>On the processor (no GPU)</source>
        <translation>在处理器上（无 GPU）</translation>
    </message>
    <message>
        <source>Upscaler on the processor</source>
        <translation>放大模型在处理器上</translation>
    </message>
    <message>
        <source>Upscaler on the GPU</source>
        <translation>放大模型在 GPU 上</translation>
    </message>
    <message>
        <source>ComfyUI server</source>
        <translation>ComfyUI 服务器</translation>
    </message>
    <message>
        <source>ComfyUI server {0}</source>
        <translation>ComfyUI 服务器 {0}</translation>
    </message>
    <message>
        <source>fastest, needs about 24 GB</source>
        <translation>最快，约需 24 GB</translation>
    </message>
    <message>
        <source>one part at a time (about 13 GB)</source>
        <translation>一次一个部件（约 13 GB）</translation>
    </message>
    <message>
        <source>stream blocks from RAM (about 3 GB)</source>
        <translation>从内存流式加载模块（约 3 GB）</translation>
    </message>
    <message>
        <source>layer by layer (the leanest)</source>
        <translation>一层一层（最省显存）</translation>
    </message>
    <message>
        <source>{0}: {1}</source>
        <comment>a memory strategy&apos;s name, then what it costs (Settings)</comment>
        <translation>{0}：{1}</translation>
    </message>
    <message>
        <source>Cannot reach the ComfyUI server at {0} ({1}). Check that it runs and that this computer can reach it.</source>
        <translation>无法连接 {0} 上的 ComfyUI 服务器（{1}）。请检查它是否在运行，以及本机能否访问它。</translation>
    </message>
    <message>
        <source>The server at {0} refused the credentials (HTTP {1}). Check the token or user name and password in the engine&apos;s settings.</source>
        <translation>{0} 上的服务器拒绝了登录凭据（HTTP {1}）。请检查引擎设置中的令牌或用户名和密码。</translation>
    </message>
    <message>
        <source>The secure connection to {0} failed ({1}). If the server uses its own certificate, choose its CA file in the engine&apos;s settings.</source>
        <translation>与 {0} 的安全连接失败（{1}）。如果服务器使用自有证书，请在引擎设置中选择它的 CA 文件。</translation>
    </message>
    <message>
        <source>The server runs ComfyUI {0}; Z-Image-Turbo needs {1} or newer. Update ComfyUI on that machine.</source>
        <translation>服务器运行的是 ComfyUI {0}；Z-Image-Turbo 需要 {1} 或更新版本。请在那台机器上更新 ComfyUI。</translation>
    </message>
    <message>
        <source>The server lacks the core nodes {0}. Update ComfyUI on that machine.</source>
        <translation>服务器缺少核心节点 {0}。请在那台机器上更新 ComfyUI。</translation>
    </message>
    <message>
        <source>Missing on the server:</source>
        <translation>服务器上缺少：</translation>
    </message>
    <message>
        <source>put the diffusion model ({1}) in {0}</source>
        <translation>把扩散模型（{1}）放到 {0}</translation>
    </message>
    <message>
        <source>put the text encoder ({1}) in {0}</source>
        <translation>把文本编码器（{1}）放到 {0}</translation>
    </message>
    <message>
        <source>put the VAE ({1}) in {0}</source>
        <translation>把 VAE（{1}）放到 {0}</translation>
    </message>
    <message>
        <source>put the {2} file ({1}) in {0}</source>
        <translation>把 {2} 文件（{1}）放到 {0}</translation>
    </message>
    <message>
        <source>Sending the job to all engines (pool)…</source>
        <translation>正在把任务发给全部引擎（池）…</translation>
    </message>
    <message>
        <source>Sending the job to {0}…</source>
        <translation>正在把任务发给 {0}…</translation>
    </message>
    <message>
        <source>Connected to {0} (ComfyUI {1}, {2})</source>
        <translation>已连接到 {0}（ComfyUI {1}，{2}）</translation>
    </message>
    <message>
        <source>Starting the engine…</source>
        <translation>正在启动引擎…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>正在连接服务器…</translation>
    </message>
    <message>
        <source>The GPU driver is spilling into system memory, which makes generation very slow.</source>
        <translation>显卡驱动正在借用系统内存，生成会非常慢。</translation>
    </message>
    <message>
        <source>The image was saved but not recorded in the history.</source>
        <translation>图片已保存，但没有记入历史记录。</translation>
    </message>
    <message>
        <source>Out of memory because the GPU memory was fragmented: freed it and retried.</source>
        <translation>显存碎片导致内存不足：已释放并重试。</translation>
    </message>
    <message>
        <source>Generation is getting slower: the GPU is throttling its clocks.</source>
        <translation>生成越来越慢：GPU 正在降低频率。</translation>
    </message>
    <message>
        <source>No NVIDIA GPU: the image is generated on the CPU (much slower).</source>
        <translation>没有 NVIDIA GPU：图片在 CPU 上生成（慢得多）。</translation>
    </message>
    <message>
        <source>The memory strategy “{0}” needs an NVIDIA GPU, so it does not apply here.</source>
        <translation>内存策略“{0}”需要 NVIDIA GPU，因此在这里不适用。</translation>
    </message>
    <message>
        <source>The whole image does not fit in video memory, so it is refined in {0}-px tiles that overlap by {1} px and are blended.</source>
        <translation>整张图放不进显存，因此分成 {0} 像素的块来精修，块之间重叠 {1} 像素并混合。</translation>
    </message>
    <message>
        <source>The card reports thermal throttling</source>
        <translation>显卡报告过热降频</translation>
    </message>
    <message>
        <source>The card reports thermal throttling at {0:.0f} °C</source>
        <translation>显卡报告过热降频，温度 {0:.0f} °C</translation>
    </message>
    <message>
        <source>The card is held at its power limit</source>
        <translation>显卡被限制在功耗上限</translation>
    </message>
    <message>
        <source>{0}: a denoise step took {1:.2f} s at the start of this session and {2:.2f} s now. Let it cool: clean the fans and vents, give a laptop room to breathe or a cooling pad, choose a lower power mode in the GPU or laptop software, or pause between batches.</source>
        <translation>{0}：本次会话开始时一步去噪用时 {1:.2f} 秒，现在是 {2:.2f} 秒。让它降温：清理风扇和散热口，给笔记本留出通风空间或用散热垫，在显卡或笔记本软件里选择更低的性能模式，或在批次之间暂停一下。</translation>
    </message>
    <message>
        <source>GPU memory freed: the model is unloaded and loads again with the next Generate.</source>
        <translation>显存已释放：模型已卸载，下次生成时会重新载入。</translation>
    </message>
    <message>
        <source>GPU memory freed. No model was loaded; the next Generate loads it.</source>
        <translation>显存已释放。之前没有载入模型；下次生成时会载入。</translation>
    </message>
    <message>
        <source>preparing the model</source>
        <translation>准备模型</translation>
    </message>
    <message>
        <source>encoding the prompt</source>
        <translation>编码提示词</translation>
    </message>
    <message>
        <source>denoising</source>
        <translation>去噪</translation>
    </message>
    <message>
        <source>decoding the image</source>
        <translation>解码图像</translation>
    </message>
    <message>
        <source>saving</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>No NVIDIA graphics card or driver was found.</source>
        <translation>没有找到 NVIDIA 显卡或驱动。</translation>
    </message>
    <message>
        <source>The environment variable CUDA_VISIBLE_DEVICES hides every GPU.</source>
        <translation>环境变量 CUDA_VISIBLE_DEVICES 隐藏了所有 GPU。</translation>
    </message>
    <message>
        <source>The NVIDIA monitoring library (nvidia-ml-py) is not installed; run the set-up again.</source>
        <translation>没有安装 NVIDIA 监控库（nvidia-ml-py）；请重新运行安装。</translation>
    </message>
    <message>
        <source>An NVIDIA driver is installed, but the GPU cannot be used.</source>
        <translation>已安装 NVIDIA 驱动，但无法使用 GPU。</translation>
    </message>
    <message>
        <source>The NVIDIA GPU stopped answering (a driver reset or a lost device).</source>
        <translation>NVIDIA GPU 停止响应了（驱动重置或设备丢失）。</translation>
    </message>
    <message>
        <source>Checking the GPU failed; the details are in the log file.</source>
        <translation>检查 GPU 失败；详情见日志文件。</translation>
    </message>
    <message>
        <source>The engine runs on the CPU.</source>
        <translation>引擎在 CPU 上运行。</translation>
    </message>
    <message>
        <source>The prompt is empty. Describe the image you want, e.g. “一只橘色的猫”.</source>
        <translation>提示词为空。请描述您想要的图片，例如“一只橘色的猫”。</translation>
    </message>
    <message>
        <source>Width and height must be multiples of 16 between {0} and {1}.</source>
        <translation>宽度和高度必须是 16 的倍数，范围 {0} 到 {1}。</translation>
    </message>
    <message>
        <source>No model is set. Choose the Z-Image-Turbo folder.</source>
        <translation>没有设置模型。请选择 Z-Image-Turbo 模型文件夹。</translation>
    </message>
</context>
<context>
    <name>ModelSetupDialog</name>
    <message>
        <source>Set up the model</source>
        <translation>设置模型</translation>
    </message>
    <message>
        <source>Variant</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Peak RAM</source>
        <translation>内存峰值</translation>
    </message>
    <message>
        <source>Peak VRAM</source>
        <translation>显存峰值</translation>
    </message>
    <message>
        <source>On this computer</source>
        <translation>在这台电脑上</translation>
    </message>
    <message>
        <source>Installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>Download and use</source>
        <translation>下载并使用</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Stop now; Download continues where it stopped, also after a restart</source>
        <translation>立即停止；再次点击“下载”会从中断处继续，重启后也可以</translation>
    </message>
    <message>
        <source>Use a folder I already have…</source>
        <translation>使用已有的文件夹…</translation>
    </message>
    <message>
        <source>Use model files I already have…</source>
        <translation>使用已有的模型文件…</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>%1 with %2 of video memory</source>
        <translation>%1，显存 %2</translation>
    </message>
    <message>
        <source>no NVIDIA GPU (images are made on the processor, slowly)</source>
        <translation>没有 NVIDIA 显卡（用处理器生成，速度很慢）</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>%1 free for models in %2</source>
        <translation>%2 可用于模型的空间 %1</translation>
    </message>
    <message>
        <source>free disk space unknown</source>
        <translation>可用磁盘空间未知</translation>
    </message>
    <message>
        <source>This computer: %1 · %2 of RAM · %3</source>
        <translation>这台电脑：%1 · 内存 %2 · %3</translation>
    </message>
    <message>
        <source>The memory planner could not rate the variants; the details are in the log file.</source>
        <translation>显存规划器无法评估各版本；详情见日志文件。</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>no</source>
        <translation>否</translation>
    </message>
    <message>
        <source>Recommended for this computer: %1.</source>
        <translation>推荐这台电脑使用：%1。</translation>
    </message>
    <message>
        <source>Nothing fits comfortably; the least demanding choice is %1.</source>
        <translation>没有完全合适的版本；要求最低的是 %1。</translation>
    </message>
    <message>
        <source>none (processor)</source>
        <translation>无（处理器）</translation>
    </message>
    <message>
        <source>Predicted at 1024×1024: %1 of RAM (this computer can spare %2), video memory %3.</source>
        <translation>1024×1024 预计：内存 %1（这台电脑可用 %2），显存 %3。</translation>
    </message>
    <message>
        <source>fits</source>
        <translation>合适</translation>
    </message>
    <message>
        <source>needs more RAM</source>
        <translation>内存不足</translation>
    </message>
    <message>
        <source>needs more video memory</source>
        <translation>显存不足</translation>
    </message>
    <message>
        <source>needs more disk space</source>
        <translation>磁盘空间不足</translation>
    </message>
    <message>
        <source>%1 — licence: %2</source>
        <translation>%1 — 许可证：%2</translation>
    </message>
    <message>
        <source>Asking the Hugging Face Hub for the files of %1…</source>
        <translation>正在向 Hugging Face Hub 查询 %1 的文件…</translation>
    </message>
    <message>
        <source>Pausing…</source>
        <translation>正在暂停…</translation>
    </message>
    <message>
        <source>%1 min left</source>
        <translation>还剩 %1 分钟</translation>
    </message>
    <message>
        <source>File %1 of %2: %3 · %4 of %5 in total · %6 %7</source>
        <translation>第 %1/%2 个文件：%3 · 共 %5，已完成 %4 · %6 %7</translation>
    </message>
    <message>
        <source>Paused. “Download and use” continues where it stopped.</source>
        <translation>已暂停。“下载并使用”会从中断处继续。</translation>
    </message>
    <message>
        <source>The Hugging Face Hub could not be reached, or kept failing. Check the internet connection and press “Download and use” again: it continues where it stopped.</source>
        <translation>无法连接 Hugging Face Hub，或服务器持续出错。请检查网络后再次点击“下载并使用”：会从中断处继续。</translation>
    </message>
    <message>
        <source>The disk is full. Free some space and press “Download and use” again: it continues where it stopped.</source>
        <translation>磁盘已满。请腾出空间后再次点击“下载并使用”：会从中断处继续。</translation>
    </message>
    <message>
        <source>The download stopped because of an internal error; the details are in the log file. Press “Download and use” again to continue where it stopped.</source>
        <translation>下载因内部错误中断，详情见日志文件。再次点击“下载并使用”会从中断处继续。</translation>
    </message>
    <message>
        <source>The download stopped.</source>
        <translation>下载已中断。</translation>
    </message>
    <message>
        <source>Or use a folder or model files you already have.</source>
        <translation>也可以使用已有的文件夹或模型文件。</translation>
    </message>
    <message>
        <source>Now choose the folder with the text encoder and VAE</source>
        <translation>现在选择包含文本编码器和 VAE 的文件夹</translation>
    </message>
    <message>
        <source>%1 holds only the transformer. The text encoder and VAE come from a pipeline folder (for example a downloaded variant): choose the file again, then that folder.</source>
        <translation>%1 只包含 transformer。文本编码器和 VAE 来自一个 pipeline 文件夹（例如已下载的变体）：请重新选择该文件，然后选择那个文件夹。</translation>
    </message>
    <message>
        <source>%1 is downloaded and verified.</source>
        <translation>%1 已下载并校验完毕。</translation>
    </message>
    <message>
        <source>Choose a Z-Image-Turbo pipeline folder</source>
        <translation>选择 Z-Image-Turbo 模型文件夹</translation>
    </message>
    <message>
        <source>Choose a transformer file (.gguf or .safetensors)</source>
        <translation>选择 transformer 文件（.gguf 或 .safetensors）</translation>
    </message>
    <message>
        <source>Model files (*.gguf *.safetensors)</source>
        <translation>模型文件 (*.gguf *.safetensors)</translation>
    </message>
    <message>
        <source>%1 cannot be used: %2.</source>
        <translation>无法使用 %1：%2。</translation>
    </message>
</context>
<context>
    <name>NoticeBar</name>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Put the deleted images back (Ctrl+Z)</source>
        <translation>恢复删除的图片（Ctrl+Z）</translation>
    </message>
    <message>
        <source>Undo delete</source>
        <translation>撤销删除</translation>
    </message>
    <message>
        <source>Dismiss message</source>
        <translation>关闭消息</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
</context>
<context>
    <name>ParamsPanel</name>
    <message>
        <source>&amp;Prompt</source>
        <translation>提示词(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Negative prompt</source>
        <translation>反向提示词(&amp;N)</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <source>S&amp;teps</source>
        <translation>步数(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Guidance</source>
        <translation>引导系数(&amp;G)</translation>
    </message>
    <message>
        <source>S&amp;eed</source>
        <translation>种子(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Count</source>
        <translation>数量(&amp;C)</translation>
    </message>
    <message>
        <source>Describe the image, e.g. 一只橘色的猫在窗台上晒太阳 (Ctrl+Enter to generate)</source>
        <translation>描述画面，例如：一只橘色的猫在窗台上晒太阳（Ctrl+Enter 生成）</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>提示词</translation>
    </message>
    <message>
        <source>Negative prompt</source>
        <translation>反向提示词</translation>
    </message>
    <message>
        <source>Width in pixels</source>
        <translation>宽度（像素）</translation>
    </message>
    <message>
        <source>Height in pixels</source>
        <translation>高度（像素）</translation>
    </message>
    <message>
        <source>Width: a multiple of 16 between 256 and 2048</source>
        <translation>宽度：256 到 2048 之间 16 的倍数</translation>
    </message>
    <message>
        <source>Height: a multiple of 16 between 256 and 2048</source>
        <translation>高度：256 到 2048 之间 16 的倍数</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>Denoising steps. Z-Image-Turbo is made for 8.</source>
        <translation>去噪步数。Z-Image-Turbo 的推荐值是 8。</translation>
    </message>
    <message>
        <source>Guidance</source>
        <translation>引导系数</translation>
    </message>
    <message>
        <source>Guidance scale. Turbo is made for 0; above 0 doubles the work per step.</source>
        <translation>引导系数。Turbo 的推荐值是 0；大于 0 时每步计算量翻倍。</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <source>random</source>
        <translation>随机</translation>
    </message>
    <message>
        <source>Same seed and parameters give the same image. -1 = random.</source>
        <translation>相同的种子和参数会生成相同的图片。-1 表示随机。</translation>
    </message>
    <message>
        <source>Dice</source>
        <translation>掷骰</translation>
    </message>
    <message>
        <source>New random seed</source>
        <translation>新的随机种子</translation>
    </message>
    <message>
        <source>Pick a new random seed and keep it</source>
        <translation>随机选一个新种子并锁定</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>锁定</translation>
    </message>
    <message>
        <source>Keep this seed</source>
        <translation>保持这个种子</translation>
    </message>
    <message>
        <source>Locked: every generation uses this seed. Unlocked: a new random seed each time.</source>
        <translation>锁定：每次生成都用这个种子。未锁定：每次使用新的随机种子。</translation>
    </message>
    <message>
        <source>Number of images</source>
        <translation>图片数量</translation>
    </message>
    <message>
        <source>Images per generation, with seeds seed, seed+1, …</source>
        <translation>每次生成的图片数量，种子依次为 种子、种子+1、…</translation>
    </message>
    <message>
        <source>by</source>
        <translation>乘</translation>
    </message>
    <message>
        <source>Input problem</source>
        <translation>输入问题</translation>
    </message>
    <message>
        <source>Value adjusted</source>
        <translation>数值已调整</translation>
    </message>
    <message>
        <source>No effect while guidance is 0 (Turbo&apos;s setting)</source>
        <translation>引导系数为 0（Turbo 的设置）时不生效</translation>
    </message>
    <message>
        <source>Ignored at guidance 0. Raise guidance to use it.</source>
        <translation>引导系数为 0 时会被忽略。调高引导系数才会生效。</translation>
    </message>
    <message>
        <source>What to avoid in the image</source>
        <translation>画面中要避免的内容</translation>
    </message>
    <message>
        <source>Has no effect while guidance is 0</source>
        <translation>引导系数为 0 时不生效</translation>
    </message>
    <message>
        <source>Last used seed: {0}. Press Lock to keep it.</source>
        <translation>上次使用的种子：{0}。按“锁定”保留它。</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>宽度</translation>
    </message>
    <message>
        <source>Height</source>
        <translation>高度</translation>
    </message>
    <message>
        <source>Count</source>
        <translation>数量</translation>
    </message>
    <message>
        <source>{0}: {1} is larger than the largest allowed, {2}; using {3}.</source>
        <translation>{0}：{1} 大于允许的最大值 {2}；改用 {3}。</translation>
    </message>
    <message>
        <source>{0}: {1} is smaller than the smallest allowed, {2}; using {3}.</source>
        <translation>{0}：{1} 小于允许的最小值 {2}；改用 {3}。</translation>
    </message>
    <message>
        <source>{0}: {1} is not a multiple of {2}; using {3}.</source>
        <translation>{0}：{1} 不是 {2} 的倍数；改用 {3}。</translation>
    </message>
    <message>
        <source>{0}: {1} is not a whole number; using {2}.</source>
        <translation>{0}：{1} 不是整数；改用 {2}。</translation>
    </message>
    <message>
        <source>{0}: {1} has more decimals than allowed; using {2}.</source>
        <translation>{0}：{1} 的小数位数超出允许范围；改用 {2}。</translation>
    </message>
    <message>
        <source>{0} was left empty; keeping {1}.</source>
        <translation>{0} 留空了；保留 {1}。</translation>
    </message>
</context>
<context>
    <name>PngDrop</name>
    <message>
        <source>seed %1</source>
        <translation>种子 %1</translation>
    </message>
    <message>
        <source>%1 steps</source>
        <translation>%1 步</translation>
    </message>
    <message>
        <source>guidance %1</source>
        <translation>引导系数 %1</translation>
    </message>
</context>
<context>
    <name>PngDropFilter</name>
    <message>
        <source>Parameters filled in from %1 (%2).</source>
        <translation>已从 %1（%2）填入参数。</translation>
    </message>
    <message>
        <source>Nothing was changed: %1</source>
        <translation>未做任何更改：%1</translation>
    </message>
</context>
<context>
    <name>PresetBar</name>
    <message>
        <source>Landscape 16:9</source>
        <translation>横版 16:9</translation>
    </message>
    <message>
        <source>Portrait 9:16</source>
        <translation>竖版 9:16</translation>
    </message>
    <message>
        <source>Fits this GPU</source>
        <translation>适合这块显卡</translation>
    </message>
    <message>
        <source>Fits with offload (slower)</source>
        <translation>需要卸载到内存才能运行（较慢）</translation>
    </message>
    <message>
        <source>Too big for this GPU</source>
        <translation>对这块显卡来说太大</translation>
    </message>
    <message>
        <source>Fit unknown (no planner answer yet)</source>
        <translation>是否适合未知（规划器尚无结果）</translation>
    </message>
    <message>
        <source>No NVIDIA GPU: runs on the CPU (slow)</source>
        <translation>没有 NVIDIA 显卡：在 CPU 上运行（很慢）</translation>
    </message>
    <message>
        <source>{0} GB</source>
        <translation>{0} GB</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>{0} × {1} pixels
{2}
Predicted peak VRAM: {3}</source>
        <translation>{0} × {1} 像素
{2}
预计显存峰值：{3}</translation>
    </message>
    <message>
        <source>Memory strategy: {0}</source>
        <translation>显存策略：{0}</translation>
    </message>
    <message>
        <source>Size preset {0}</source>
        <translation>尺寸预设 {0}</translation>
    </message>
</context>
<context>
    <name>ProgressPanel</name>
    <message>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>Step {0}/{1}</source>
        <translation>第 {0}/{1} 步</translation>
    </message>
    <message>
        <source>{0:.2f} it/s · ETA {1:.1f} s</source>
        <translation>{0:.2f} 步/秒 · 剩余 {1:.1f} 秒</translation>
    </message>
    <message>
        <source>Image {0}/{1} on {2} · </source>
        <translation>第 {0}/{1} 张，在 {2} 上 · </translation>
    </message>
    <message>
        <source>On {0} · </source>
        <translation>在 {0} 上 · </translation>
    </message>
    <message>
        <source>Image {0}/{1} · </source>
        <translation>第 {0}/{1} 张 · </translation>
    </message>
</context>
<context>
    <name>QueueList</name>
    <message>
        <source>Queue</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Right-click a waiting job to remove or move it; Delete removes it.</source>
        <translation>右键点击等待中的任务可移除或移动它；Delete 键移除。</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <source>Clear queue</source>
        <translation>清空队列</translation>
    </message>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>{0} · {1}×{2} ×{3} · {4}</source>
        <translation>{0} · {1}×{2} ×{3} · {4}</translation>
    </message>
</context>
<context>
    <name>QuitDialog</name>
    <message>
        <source>Quit while generating?</source>
        <translation>生成中要退出吗？</translation>
    </message>
    <message>
        <source>Image {0} of {1} is being generated.</source>
        <translation>正在生成第 {0} 张，共 {1} 张。</translation>
    </message>
    <message>
        <source>An image is being generated.</source>
        <translation>正在生成一张图片。</translation>
    </message>
    <message>
        <source>Finishing saves the current image; the rest of its batch does not start.</source>
        <translation>完成会保存当前图片；这一批中其余的图片不会开始。</translation>
    </message>
    <message>
        <source>{0} waiting job(s) in the queue will not run.</source>
        <translation>队列中等待的 {0} 个任务不会运行。</translation>
    </message>
    <message>
        <source>Finish the current image, then quit</source>
        <translation>完成当前图片后退出</translation>
    </message>
    <message>
        <source>Quit now (cancel the job)</source>
        <translation>立即退出（取消任务）</translation>
    </message>
    <message>
        <source>Keep working</source>
        <translation>继续工作</translation>
    </message>
    <message>
        <source>Quit?</source>
        <translation>退出？</translation>
    </message>
    <message>
        <source>The job has finished.</source>
        <translation>任务已完成。</translation>
    </message>
    <message>
        <source>Nothing is being generated now.</source>
        <translation>现在没有在生成。</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
</context>
<context>
    <name>RecipeManager</name>
    <message>
        <source>Recipes</source>
        <translation>配方</translation>
    </message>
    <message>
        <source>Saved recipes</source>
        <translation>已保存的配方</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Rename recipe</source>
        <translation>重命名配方</translation>
    </message>
    <message>
        <source>New name:</source>
        <translation>新名称：</translation>
    </message>
    <message>
        <source>Delete recipe</source>
        <translation>删除配方</translation>
    </message>
    <message>
        <source>Delete the recipe “%1”?</source>
        <translation>要删除配方“%1”吗？</translation>
    </message>
</context>
<context>
    <name>RecipesMenu</name>
    <message>
        <source>&amp;Recipes</source>
        <translation>配方(&amp;R)</translation>
    </message>
    <message>
        <source>Save the current parameters as…</source>
        <translation>将当前参数保存为…</translation>
    </message>
    <message>
        <source>Rename or delete recipes…</source>
        <translation>重命名或删除配方…</translation>
    </message>
    <message>
        <source>Apply all its parameters; your prompt and seed stay</source>
        <translation>应用其全部参数；提示词和种子保持不变</translation>
    </message>
    <message>
        <source>Recipe “%1” applied.</source>
        <translation>已应用配方“%1”。</translation>
    </message>
    <message>
        <source>Save recipe</source>
        <translation>保存配方</translation>
    </message>
    <message>
        <source>Name of the recipe:</source>
        <translation>配方名称：</translation>
    </message>
    <message>
        <source>A recipe named “%1” exists. Replace it?</source>
        <translation>已有名为“%1”的配方。要替换吗？</translation>
    </message>
    <message>
        <source>Recipe “%1” saved.</source>
        <translation>已保存配方“%1”。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Enter a model folder or a Hugging Face id.</source>
        <translation>请输入模型文件夹或 Hugging Face ID。</translation>
    </message>
    <message>
        <source>This folder does not exist.</source>
        <translation>这个文件夹不存在。</translation>
    </message>
    <message>
        <source>This folder holds no model_index.json: choose the Z-Image-Turbo folder itself.</source>
        <translation>这个文件夹里没有 model_index.json：请选择 Z-Image-Turbo 文件夹本身。</translation>
    </message>
    <message>
        <source>This folder holds a %1 model, not Z-Image.</source>
        <translation>这个文件夹里是 %1 模型，不是 Z-Image。</translation>
    </message>
    <message>
        <source>Model and memory</source>
        <translation>模型和内存</translation>
    </message>
    <message>
        <source>Model folder or Hugging Face id</source>
        <translation>模型文件夹或 Hugging Face ID</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Choose the model folder</source>
        <translation>选择模型文件夹</translation>
    </message>
    <message>
        <source>Default</source>
        <translation>默认</translation>
    </message>
    <message>
        <source>Use the default model</source>
        <translation>使用默认模型</translation>
    </message>
    <message>
        <source>Memory strategy</source>
        <translation>显存策略</translation>
    </message>
    <message>
        <source>Auto: the fastest that fits (recommended)</source>
        <translation>自动：选择放得下的最快方式（推荐）</translation>
    </message>
    <message>
        <source>VAE tiling</source>
        <translation>VAE 分块解码</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>On (less memory when decoding)</source>
        <translation>开（解码时更省显存）</translation>
    </message>
    <message>
        <source>Off</source>
        <translation>关</translation>
    </message>
    <message>
        <source>Store the transformer in fp8 (half its memory; experimental)</source>
        <translation>以 fp8 存储 Transformer（显存减半，实验功能）</translation>
    </message>
    <message>
        <source>Encode prompts on the CPU (saves video memory, slower)</source>
        <translation>在 CPU 上编码提示词（省显存，较慢）</translation>
    </message>
    <message>
        <source>Changes apply from the next image. Out of memory is retried one step leaner.</source>
        <translation>更改从下一张图片开始生效。显存不足时会自动换用更省显存的方式重试。</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>Memory strategy:</source>
        <translation>显存策略：</translation>
    </message>
    <message>
        <source>VAE tiling:</source>
        <translation>VAE 分块解码：</translation>
    </message>
    <message>
        <source>Choose the Z-Image-Turbo folder (it holds model_index.json)</source>
        <translation>选择 Z-Image-Turbo 文件夹（其中有 model_index.json）</translation>
    </message>
</context>
<context>
    <name>ThumbDelegate</name>
    <message>
        <source>refined</source>
        <translation>已精修</translation>
    </message>
    <message>
        <source>upscaled</source>
        <translation>已放大</translation>
    </message>
</context>
<context>
    <name>Variants</name>
    <message>
        <source>Original (bf16)</source>
        <translation>原版 (bf16)</translation>
    </message>
    <message>
        <source>The reference: the weights as Tongyi-MAI published them.</source>
        <translation>基准画质：通义官方发布的原始权重。</translation>
    </message>
    <message>
        <source>SDNQ 8-bit</source>
        <translation>SDNQ 8 位</translation>
    </message>
    <message>
        <source>Close to the original: 8-bit weights, quantized per layer without group sizes.</source>
        <translation>接近原版：8 位权重，逐层量化，不分组。</translation>
    </message>
    <message>
        <source>SDNQ 4-bit (SVD r32)</source>
        <translation>SDNQ 4 位 (SVD r32)</translation>
    </message>
    <message>
        <source>A little less fine detail than the original: 4-bit weights with a rank-32 SVD correction; the text encoder is 4-bit too.</source>
        <translation>细节比原版略少：4 位权重加 32 秩 SVD 校正；文本编码器也是 4 位。</translation>
    </message>
    <message>
        <source>GGUF Q8_0 + SDNQ 4-bit text encoder</source>
        <translation>GGUF Q8_0 + SDNQ 4 位文本编码器</translation>
    </message>
    <message>
        <source>Transformer close to the original (8-bit GGUF); text encoder from the SDNQ 4-bit pipeline.</source>
        <translation>Transformer 接近原版（8 位 GGUF）；文本编码器来自 SDNQ 4 位版本。</translation>
    </message>
    <message>
        <source>GGUF Q4_K_M + SDNQ 4-bit text encoder</source>
        <translation>GGUF Q4_K_M + SDNQ 4 位文本编码器</translation>
    </message>
    <message>
        <source>Some loss of fine detail (4-bit K-quant transformer); the usual community choice for 8 GB cards.</source>
        <translation>会损失一些细节（4 位 K 量化 transformer）；8 GB 显卡用户的常见选择。</translation>
    </message>
</context>
<context>
    <name>VramGauge</name>
    <message>
        <source>VRAM: checking…</source>
        <translation>显存：检测中…</translation>
    </message>
    <message>
        <source>VRAM: unknown</source>
        <translation>显存：未知</translation>
    </message>
    <message>
        <source>The VRAM probe is not available.</source>
        <translation>显存检测不可用。</translation>
    </message>
    <message>
        <source>CPU mode: no NVIDIA GPU</source>
        <translation>CPU 模式：没有 NVIDIA 显卡</translation>
    </message>
    <message>
        <source>Images are made on the CPU, which is much slower. Reason: {0}</source>
        <translation>图片在 CPU 上生成，速度慢很多。原因：{0}</translation>
    </message>
    <message>
        <source>VRAM {0} / {1} GB · this app {2} GB · job peak {3} GB · predicted {4}</source>
        <translation>显存 {0} / {1} GB · 本程序 {2} GB · 任务峰值 {3} GB · 预计 {4}</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>VRAM gauge</source>
        <translation>显存仪表</translation>
    </message>
    <message>
        <source> · {0:.0f} °C</source>
        <translation> · {0:.0f} °C</translation>
    </message>
    <message>
        <source> · throttled: hot</source>
        <translation> · 降频：过热</translation>
    </message>
    <message>
        <source> · throttled: power limit</source>
        <translation> · 降频：功耗上限</translation>
    </message>
    <message>
        <source> · throttled</source>
        <translation> · 降频</translation>
    </message>
    <message>
        <source>{0} {1} GB</source>
        <translation>{0} {1} GB</translation>
    </message>
    <message>
        <source>, {0} more</source>
        <translation>，另有 {0} 个</translation>
    </message>
    <message>
        <source>Other programs using VRAM: {0}</source>
        <translation>占用显存的其他程序：{0}</translation>
    </message>
    <message>
        <source>Other programs: {0} GB (the driver does not say which)</source>
        <translation>其他程序：{0} GB（驱动没有说明是哪些）</translation>
    </message>
    <message>
        <source> and </source>
        <translation>和</translation>
    </message>
    <message>
        <source>{0} ({1} GB)</source>
        <translation>{0}（{1} GB）</translation>
    </message>
    <message>
        <source>other programs ({0} GB)</source>
        <translation>其他程序（{0} GB）</translation>
    </message>
    <message>
        <source> — {0}×{1} would fit at full speed if {2} were closed</source>
        <translation> — 如果关闭 {2}，{0}×{1} 就能全速运行</translation>
    </message>
    <message>
        <source>{0}: {1} / {2} GB VRAM · {3}</source>
        <translation>{0}：显存 {1} / {2} GB · {3}</translation>
    </message>
    <message>
        <source>{0}: {1} · VRAM unknown</source>
        <translation>{0}：{1} · 显存未知</translation>
    </message>
    <message>
        <source>The job runs on the server {0}: {1} GB of its VRAM free when it checked in.</source>
        <translation>任务在服务器 {0} 上运行：它上次报告时有 {1} GB 显存空闲。</translation>
    </message>
</context>
</TS>
